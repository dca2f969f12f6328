// The project's images: adding them (files, a folder by picker or input, a dropped folder), the
// image list with each image's status, moving between images, decoding only the current one for
// display, and encoding the next ones in the background into the model worker's small cache of
// encoded images, so moving on costs no visible wait. Owns the image files (Blobs; the stored
// ones are read back from IndexedDB when needed) and the current image's bitmap, the only one
// kept decoded.
import { MAX_SIDE } from '../clipseg.js';
import { clearImage, showImage } from './canvas.js';
import { el, h, revealIn } from './dom.js';
import { clearError, reportError, setBusy, setNotice } from './messages.js';
import { foregroundTask, segmenter, whenIdle } from './model.js';
import { editor, imageKey } from './state.js';
import { getFile, putFiles, save } from './store.js';

const LOOK_AHEAD = 2; // images encoded ahead of the current one
const KEPT = 4; // encoded images the worker keeps (current, previous, next ones)
const IMAGE_NAME = /\.(png|jpe?g|webp|gif|bmp|avif|ico|tiff?)$/i;

const files = new Map(); // image id → Blob (one object per image: the model's key cache compares them)
let shown = null; // { id, bitmap, width, height } of the image on the canvas
let modelImage = null; // the id of the model's current image
const encoded = []; // ids encoded in the worker, least recent first (a mirror of its small cache)
let showToken = 0;
let queueRunning = false;
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

/** The Blob of an image, from memory or the project's store (null when lost). */
export async function fileOf(id) {
  if (files.has(id)) return files.get(id);
  const file = await getFile(id);
  if (file) files.set(id, file);
  return file;
}

export const isImageFile = (file) => (file.type ? file.type.startsWith('image/') : IMAGE_NAME.test(file.name));

/**
 * Adds files to the project: [{ file, path }]; non-images are named and skipped, files already
 * in the project (same name and size) too. Returns the new images.
 */
export async function addFiles(items, { quiet = false } = {}) {
  const { project } = editor;
  const have = new Set(project.images.map((image) => `${image.name}\0${image.bytes}`));
  const skipped = [];
  const fresh = [];
  for (const item of items) {
    const name = item.path || item.file.name;
    if (!isImageFile(item.file)) skipped.push(name);
    else if (!have.has(`${name}\0${item.file.size}`)) {
      have.add(`${name}\0${item.file.size}`);
      fresh.push({ ...item, name });
    }
  }
  fresh.sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
  if (skipped.length && !quiet) {
    const list = skipped.slice(0, 5).map((n) => `“${n}”`).join(', ') + (skipped.length > 5 ? ` and ${skipped.length - 5} more` : '');
    reportError(`Skipped ${skipped.length === 1 ? 'a file that is not an image' : `${skipped.length} files that are not images`}: ${list}.`);
  } else if (fresh.length) {
    clearError();
  }
  if (!fresh.length) return [];
  setBusy('adding', true);
  const hadCurrent = project.currentImageId !== null;
  const added = project.addImages(fresh.map(({ name, file }) => ({ name, type: file.type, bytes: file.size })));
  added.forEach((image, i) => files.set(image.id, fresh[i].file));
  editor.changed({ images: true, current: !hadCurrent });
  await putFiles(added.map((image, i) => ({ id: image.id, file: fresh[i].file })));
  await save();
  setBusy('adding', false);
  return added;
}

// ---- Folders: a picker, an input, a drop ----

async function* walkHandle(dir, prefix) {
  for await (const entry of dir.values()) {
    if (entry.kind === 'file') yield { file: await entry.getFile(), path: `${prefix}${entry.name}` };
    else if (entry.kind === 'directory') yield* walkHandle(entry, `${prefix}${entry.name}/`);
  }
}

async function openFolder() {
  if (!window.showDirectoryPicker) {
    el.folderInput.click();
    return;
  }
  let dir;
  try {
    dir = await window.showDirectoryPicker({ id: 'clipseg-label', mode: 'read' });
  } catch (error) {
    if (error?.name !== 'AbortError') reportError(error);
    return;
  }
  const items = [];
  for await (const item of walkHandle(dir, `${dir.name}/`)) items.push(item);
  await addFiles(items);
}

// A dropped entry (webkitGetAsEntry): its files, folders walked.
async function entryFiles(entry) {
  if (entry.isFile) {
    const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
    return [{ file, path: entry.fullPath.replace(/^\//, '') }];
  }
  if (!entry.isDirectory) return [];
  const reader = entry.createReader();
  const out = [];
  for (;;) {
    const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
    if (!batch.length) break;
    for (const child of batch) out.push(...await entryFiles(child));
  }
  return out;
}

async function dropped(event) {
  event.preventDefault();
  document.body.classList.remove('dragging');
  const entries = [...(event.dataTransfer?.items ?? [])].map((item) => item.webkitGetAsEntry?.()).filter(Boolean);
  let items;
  if (entries.length) {
    items = (await Promise.all(entries.map(entryFiles))).flat();
  } else {
    items = [...(event.dataTransfer?.files ?? [])].map((file) => ({ file, path: '' }));
  }
  if (!items.length) {
    reportError('Nothing to add: drop photos or a folder of photos.');
    return;
  }
  await addFiles(items);
}

// ---- The list ----

// A path as its file name, then its folder (muted, and cut first when short of room).
function nameParts(path) {
  const at = path.lastIndexOf('/');
  return at < 0 ? [path] : [path.slice(at + 1), h('span', { className: 'folder', textContent: ` ${path.slice(0, at)}` })];
}

const STATUS_TEXT = { new: 'new', progress: 'doing', done: 'done' };
const rows = new Map();

function row(image) {
  const li = rows.get(image.id) ?? h('li', { className: 'image-row', dataset: { id: image.id }, tabIndex: -1 });
  const status = image.error ? 'error' : image.status;
  li.className = `image-row status-${status}${image.id === editor.project.currentImageId ? ' current' : ''}`;
  li.title = image.error ? `${image.name}: ${image.error}` : image.name;
  li.setAttribute('aria-current', String(image.id === editor.project.currentImageId));
  li.replaceChildren(
    h('span', { className: 'badge', textContent: image.error ? 'unreadable' : STATUS_TEXT[image.status] }),
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

async function decode(file, name) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    throw new Error(`“${name}” is not an image this browser can open`);
  }
  const { width, height } = bitmap;
  if (!width || !height) throw new Error(`“${name}” has no pixels`);
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
    decoded = await decode(file, image.name);
  } catch (error) {
    if (mine === showToken) failImage(image, error.message.replace(/^“.*?” /, ''));
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

/** Makes image `id` the model's current image (instant when it was encoded ahead). */
export function useInModel(id) {
  return foregroundTask((seg) => setModelImage(seg, id)).then(Boolean);
}

/** The same, inside a foreground task (see model.js): true when image `id` is the model's. */
export async function setModelImage(seg, id) {
  if (modelImage === id) return true;
  const file = await fileOf(id);
  if (!file) return false;
  setBusy('encoding', true);
  try {
    await seg.setImage(file, { key: imageKey(id) });
    remember(id);
    modelImage = id;
    return true;
  } catch (error) {
    reportError(error);
    return false;
  } finally {
    setBusy('encoding', false);
  }
}

/** Forgets every file and the shown image (a new project). */
export function resetImages() {
  files.clear();
  rows.clear();
  shown?.bitmap.close();
  shown = null;
  showToken++;
}

/** The model's current image id (null until one is set). */
export const modelImageId = () => modelImage;

/** Forgets what the model had (a new model was loaded). */
export function modelChanged() {
  modelImage = null;
  encoded.length = 0;
}

function remember(id) {
  const at = encoded.indexOf(id);
  if (at >= 0) encoded.splice(at, 1);
  encoded.push(id);
  while (encoded.length > KEPT) encoded.shift();
}

/** Encodes the next images in the background, one at a time, while the model is otherwise idle. */
async function encodeAhead() {
  if (queueRunning) return;
  queueRunning = true;
  try {
    for (;;) {
      const { project } = editor;
      const index = project.images.findIndex((i) => i.id === project.currentImageId);
      const next = project.images.slice(index + 1, index + 1 + LOOK_AHEAD).find((i) => !i.error && !encoded.includes(i.id));
      if (!next || !segmenter()) break;
      await whenIdle();
      const file = await fileOf(next.id);
      if (!file || !segmenter()) break;
      try {
        const info = await segmenter().encode(file, { key: imageKey(next.id) });
        if (!next.width) {
          project.setImageInfo(next.id, { width: info.originalWidth, height: info.originalHeight });
          save();
        }
        // The current image stays the most recent in the mirror: the worker keeps it too.
        remember(next.id);
        if (modelImage !== null) remember(modelImage);
      } catch (error) {
        project.setImageInfo(next.id, { error: `it cannot be decoded (${error.message})` });
        save();
        renderImages([next.id]);
      }
    }
  } finally {
    queueRunning = false;
  }
}

// ---- Wiring ----

el.filesInput.addEventListener('change', () => {
  const chosen = [...(el.filesInput.files ?? [])].map((file) => ({ file, path: '' }));
  el.filesInput.value = '';
  addFiles(chosen);
});
el.folderInput.addEventListener('change', () => {
  const chosen = [...(el.folderInput.files ?? [])].map((file) => ({ file, path: file.webkitRelativePath || '' }));
  el.folderInput.value = '';
  addFiles(chosen);
});
el.folderButton.addEventListener('click', openFolder);
el.folderButton2.addEventListener('click', openFolder);
el.imageList.addEventListener('click', (event) => {
  const li = event.target.closest('.image-row');
  if (li) editor.setCurrentImage(Number(li.dataset.id));
});
el.prevButton.addEventListener('click', () => go(-1));
el.nextButton.addEventListener('click', () => go(1));

const hasFiles = (event) => [...(event.dataTransfer?.types ?? [])].includes('Files');
let dragDepth = 0;
document.addEventListener('dragenter', (event) => {
  if (!hasFiles(event)) return;
  dragDepth++;
  document.body.classList.add('dragging');
});
document.addEventListener('dragleave', () => {
  dragDepth = Math.max(0, dragDepth - 1);
  if (!dragDepth) document.body.classList.remove('dragging');
});
document.addEventListener('dragover', (event) => {
  if (!hasFiles(event)) return;
  event.preventDefault();
  event.dataTransfer.dropEffect = 'copy';
});
document.addEventListener('drop', (event) => {
  dragDepth = 0;
  if (hasFiles(event)) dropped(event);
});
