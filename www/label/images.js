// The image list with each image's status, moving between images, and the current image:
// decoded for display (the only one kept decoded: others are files and RLE strings), then made
// the model's current image (see encoder.js), which then encodes the next ones ahead. Owns the
// shown image's bitmap.
import { MAX_SIDE } from '../clipseg.js';
import { clearImage, showImage } from './canvas.js';
import { el, h, revealIn } from './dom.js';
import { encodeAhead, modelChanged, onUnreadable, useInModel } from './encoder.js';
import { fileOf, forgetFiles } from './files.js';
import { reportError, setNotice } from './messages.js';
import { segmenter } from './model.js';
import { editor, save } from './state.js';

let shown = null; // { id, bitmap, width, height } of the image on the canvas
let showToken = 0;
const listeners = { shown: new Set(), ready: new Set() };

/** listener(id) once an image is on the canvas, its size known. */
export function onImageShown(listener) {
  listeners.shown.add(listener);
}

/** listener(id) once the shown image is the model's current image too. */
export function onModelImageReady(listener) {
  listeners.ready.add(listener);
}

export const shownImage = () => shown;

// ---- The list ----

// A path as its file name, then its folder (muted, and cut first when short of room).
function nameParts(path) {
  const at = path.lastIndexOf('/');
  return at < 0 ? [path] : [path.slice(at + 1), h('span', { className: 'folder', textContent: ` ${path.slice(0, at)}` })];
}

const STATUS_TEXT = { new: 'new', progress: 'doing', done: 'done' };
const STATUS_TITLE = { new: 'Not labelled yet', progress: 'In progress', done: 'Done (Enter reopens it)' };
const rows = new Map();

function row(image) {
  const li = rows.get(image.id) ?? h('li', { className: 'image-row', dataset: { id: image.id }, tabIndex: -1 });
  const status = image.error ? 'error' : image.status;
  li.className = `image-row status-${status}${image.id === editor.project.currentImageId ? ' current' : ''}`;
  li.title = image.error ? `${image.name}: ${image.error}` : image.name;
  li.setAttribute('aria-current', String(image.id === editor.project.currentImageId));
  li.replaceChildren(
    h('span', { className: 'badge', textContent: image.error ? 'unreadable' : STATUS_TEXT[image.status], title: image.error ?? STATUS_TITLE[image.status] }),
    h('span', { className: 'image-name' }, ...nameParts(image.name)),
    h('span', { className: 'image-count', textContent: image.instances.length ? String(image.instances.length) : '' }),
  );
  rows.set(image.id, li);
  return li;
}

/** Redraws the list (all rows, or only `ids`). */
export function renderImages(ids = null) {
  const { project } = editor;
  if (ids) {
    for (const id of ids) {
      const image = project.imageById(id);
      if (image) row(image);
    }
  } else {
    for (const id of rows.keys()) if (!project.imageById(id)) rows.delete(id);
    el.imageList.replaceChildren(...project.images.map(row));
  }
  const counts = project.counts();
  el.imageCounts.textContent = counts.total ? `${counts.done} of ${counts.total} done` : '';
  el.doneBar.style.width = counts.total ? `${(100 * counts.done) / counts.total}%` : '0';
  const index = project.images.findIndex((i) => i.id === project.currentImageId);
  el.imagePosition.textContent = counts.total ? `${index + 1} / ${counts.total}` : '0 / 0';
  el.prevButton.disabled = index <= 0;
  el.nextButton.disabled = index < 0 || index >= counts.total - 1;
  const current = project.currentImage;
  el.doneButton.disabled = !current;
  el.doneButton.classList.toggle('on', current?.status === 'done');
  el.doneButton.setAttribute('aria-pressed', String(current?.status === 'done'));
  el.doneButton.title = current?.status === 'done' ? 'Done: press Enter to reopen it' : 'Mark this image done (Enter)';
}

/** Moves to the image `by` places on (−1 back). */
export function go(by) {
  const { project } = editor;
  const index = project.images.findIndex((i) => i.id === project.currentImageId);
  const next = project.images[index + by];
  if (next) editor.setCurrentImage(next.id);
}

function scrollToCurrent() {
  revealIn(el.imageList, rows.get(editor.project.currentImageId));
}

// ---- The current image ----

async function decode(file) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    throw new Error('not an image this browser can open');
  }
  const { width, height } = bitmap;
  if (!width || !height) throw new Error('it has no pixels');
  const scale = Math.min(1, MAX_SIDE / Math.max(width, height));
  if (scale === 1) return { bitmap, width, height };
  const scaled = await createImageBitmap(bitmap, {
    resizeWidth: Math.max(1, Math.round(width * scale)), resizeHeight: Math.max(1, Math.round(height * scale)), resizeQuality: 'high',
  });
  bitmap.close();
  return { bitmap: scaled, width, height };
}

/** Decodes and shows the current image, then makes it the model's. */
export async function showCurrent() {
  const { project } = editor;
  const image = project.currentImage;
  const mine = ++showToken;
  renderImages();
  scrollToCurrent();
  if (!image) {
    shown?.bitmap.close();
    shown = null;
    clearImage();
    el.imageInfo.textContent = '';
    return;
  }
  if (shown?.id === image.id) return;
  const file = await fileOf(image.id);
  if (mine !== showToken) return;
  if (!file) {
    failImage(image, 'its file is no longer stored in this browser (add it again)');
    return;
  }
  let decoded;
  try {
    decoded = await decode(file);
  } catch (error) {
    if (mine === showToken) failImage(image, error.message);
    return;
  }
  if (mine !== showToken) {
    decoded.bitmap.close();
    return;
  }
  if (image.width && (image.width !== decoded.width || image.height !== decoded.height) && image.instances.length) {
    decoded.bitmap.close();
    failImage(image, `its labels are for ${image.width}×${image.height} pixels but the file has ${decoded.width}×${decoded.height}`);
    return;
  }
  if (!image.width || image.error) {
    project.setImageInfo(image.id, { width: decoded.width, height: decoded.height, error: null });
    save();
  }
  shown?.bitmap.close();
  shown = { id: image.id, bitmap: decoded.bitmap, width: decoded.width, height: decoded.height };
  showImage(decoded.bitmap, decoded.width, decoded.height);
  el.imageInfo.textContent = `${image.name} · ${decoded.width}×${decoded.height}`;
  el.imageInfo.title = image.name;
  setNotice('scaled', decoded.bitmap.width !== decoded.width
    ? `This image is ${decoded.width}×${decoded.height}: shown at ${decoded.bitmap.width}×${decoded.bitmap.height}; labels keep the full size.` : null);
  renderImages([image.id]);
  for (const listener of listeners.shown) listener(image.id);
  await prepareModel();
}

/** Makes the shown image the model's (after a model loads, too), then encodes the next ones. */
export async function prepareModel() {
  const id = shown?.id;
  if (id === undefined || !segmenter()) return;
  if (await useInModel(id) && shown?.id === id) for (const listener of listeners.ready) listener(id);
  encodeAhead();
}

function failImage(image, why) {
  shown?.bitmap.close();
  shown = null;
  editor.project.setImageInfo(image.id, { error: why });
  save();
  clearImage(`“${image.name}” cannot be shown: ${why}. It is skipped on export; go on with the next image (→).`);
  el.imageInfo.textContent = image.name;
  reportError(`“${image.name}” cannot be opened: ${why}. Skipped.`);
  renderImages([image.id]);
}

/** Forgets every file and the shown image (a new project). */
export function resetImages() {
  forgetFiles();
  modelChanged();
  rows.clear();
  shown?.bitmap.close();
  shown = null;
  showToken++;
}

// ---- Wiring ----

el.imageList.addEventListener('click', (event) => {
  const li = event.target.closest('.image-row');
  if (li) editor.setCurrentImage(Number(li.dataset.id));
});
onUnreadable((id) => renderImages([id]));
el.prevButton.addEventListener('click', () => go(-1));
el.nextButton.addEventListener('click', () => go(1));

