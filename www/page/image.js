// The image: opened from the file picker, a drop or a paste, decoded and (over MAX_SIDE) scaled
// down in the page for display, and swapped back for the previous one if the model cannot
// encode it. Owns the current image and the count of images being decoded.
import { MAX_SIDE, SegmenterError } from '../clipseg.js';
import { dragEnded, watchFileDrags } from '../drags.js';
import { imageBox, openExample, setImageBox } from './box.js';
import { el } from './dom.js';
import { changed, imageChanged } from './jobs.js';
import { clearError, reportError, setBusy, setNotice, updateStatus } from './messages.js';
import { layout, resetShown } from './view.js';

/** { file, name, bitmap (≤ MAX_SIDE), width, height, originalWidth, originalHeight, scaled, previous, box }. */
let image = null;
let decoding = 0; // images being opened (decoded in the page) right now

export const currentImage = () => image;

/**
 * Decodes a file the person chose to a bitmap of at most MAX_SIDE a side ({ bitmap, width,
 * height, originalWidth, originalHeight }), or says why it cannot be opened and gives null.
 */
export async function decodeChosen(file) {
  if (!file) return null;
  clearError();
  setBusy('decoding', ++decoding);
  try {
    return await decodeScaled(file);
  } catch (error) {
    reportError(error);
    return null;
  } finally {
    setBusy('decoding', --decoding);
  }
}

async function decodeScaled(file) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    const type = file.type && !file.type.startsWith('image/') ? ` (${file.type})` : '';
    throw new SegmenterError(`“${file.name || 'The pasted file'}”${type} is not an image this browser can open. Try a PNG, JPEG or WebP file`, { kind: 'image' });
  }
  const { width, height } = bitmap;
  if (!width || !height) throw new SegmenterError(`“${file.name}” has no pixels`, { kind: 'image' });
  const scale = Math.min(1, MAX_SIDE / Math.max(width, height));
  if (scale === 1) return { bitmap, originalWidth: width, originalHeight: height, width, height };
  const w = Math.max(1, Math.round(width * scale));
  const h = Math.max(1, Math.round(height * scale));
  const scaled = await createImageBitmap(bitmap, { resizeWidth: w, resizeHeight: h, resizeQuality: 'high' });
  bitmap.close();
  return { bitmap: scaled, originalWidth: width, originalHeight: height, width: w, height: h };
}

async function openImage(file) {
  const decoded = await decodeChosen(file);
  if (!decoded) return;
  const previous = image;
  if (previous) previous.box = imageBox();
  setImage({
    file, name: file.name || 'pasted image', ...decoded,
    scaled: decoded.width !== decoded.originalWidth,
    previous: previous ? { ...previous, previous: null } : null,
  }, { box: null });
}

/** The model could not encode the new image: back to the one before, with its box. */
export function restorePrevious(previous) {
  setImage(previous, { box: previous.box, fromUser: false });
}

function setImage(next, { box, fromUser = true }) {
  image = next;
  setImageBox(box ?? null);
  imageChanged();
  resetShown();
  showScaled(image);
  el.stage.hidden = false;
  el.placeholder.hidden = true;
  el.dropZone.classList.remove('empty');
  el.downloadMask.disabled = false;
  el.downloadComposite.disabled = false;
  updateImageInfo();
  updateStatus();
  layout();
  changed({ fromUser });
}

/** The model encoded `encoded`: its size as the model took it. */
export function imageEncoded(encoded, info) {
  Object.assign(encoded, {
    width: info.width, height: info.height,
    originalWidth: info.originalWidth, originalHeight: info.originalHeight, scaled: info.scaled,
  });
  showScaled(encoded);
  updateImageInfo();
}

function showScaled({ scaled, originalWidth, originalHeight, width, height }) {
  setNotice('scaled', scaled ? `Image is ${originalWidth}×${originalHeight}; working at ${width}×${height}.` : null);
}

function updateImageInfo() {
  if (!image) return;
  el.imageInfo.textContent = `${image.name} · ${image.originalWidth}×${image.originalHeight}`;
  el.imageInfo.title = image.name;
}

el.fileInput.addEventListener('change', () => {
  const file = el.fileInput.files?.[0];
  el.fileInput.value = '';
  openImage(file);
});

// Drops: anywhere on the page opens the image; on the example preview, it sets the example.
watchFileDrags();
function dropped(event, open) {
  event.preventDefault();
  event.stopPropagation();
  dragEnded();
  const files = [...(event.dataTransfer?.files ?? [])];
  if (!files.length) {
    reportError('Nothing to open: drop an image file.');
    return;
  }
  open(files.find((f) => f.type.startsWith('image/')) ?? files[0]);
}
el.exampleDetails.addEventListener('drop', (event) => dropped(event, openExample));
el.dropZone.addEventListener('drop', (event) => dropped(event, openImage));
document.addEventListener('drop', (event) => {
  if (event.defaultPrevented) return;
  dropped(event, openImage);
});

document.addEventListener('paste', (event) => {
  const items = [...(event.clipboardData?.items ?? [])];
  const item = items.find((i) => i.kind === 'file' && i.type.startsWith('image/'))
    ?? items.find((i) => i.kind === 'file');
  const file = item?.getAsFile();
  if (!file) return; // text pastes go to the focused input as usual
  event.preventDefault();
  openImage(file);
});
