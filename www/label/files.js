// Images coming into the project: files, a folder (the folder picker where the browser has one,
// else a folder input), a dropped folder (webkitGetAsEntry); what is not an image is named and
// skipped, what is already in the project too. Owns the image files: one Blob per image (the
// model's key cache compares them), stored ones read back from IndexedDB when first needed.
import { dragEnded, hasFiles, watchFileDrags } from '../drags.js';
import { el } from './dom.js';
import { clearError, hint, reportError, setBusy } from './messages.js';
import { editor, save, store } from './state.js';

const IMAGE_NAME = /\.(png|jpe?g|webp|gif|bmp|avif|ico|tiff?)$/i;

const files = new Map(); // image id → Blob

/** Forgets every file (a new project). */
export function forgetFiles() {
  files.clear();
}

/** The Blob of an image, from memory or the project's store (null when lost). */
export async function fileOf(id) {
  if (files.has(id)) return files.get(id);
  const file = await store.getFile(id);
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
  if (!fresh.length) {
    if (!skipped.length && items.length && !quiet) hint(`${items.length === 1 ? 'This image is' : 'These images are'} in the project already.`);
    return [];
  }
  setBusy('adding', true);
  const hadCurrent = project.currentImageId !== null;
  const added = project.addImages(fresh.map(({ name, file }) => ({ name, type: file.type, bytes: file.size })));
  added.forEach((image, i) => files.set(image.id, fresh[i].file));
  editor.changed({ images: true, current: !hadCurrent });
  await store.putFiles(added.map((image, i) => ({ id: image.id, file: fresh[i].file })));
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
  dragEnded();
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

watchFileDrags();
document.addEventListener('drop', (event) => {
  dragEnded();
  if (el.app.inert) { // paused while another tab edits the project (tabs.js)
    event.preventDefault();
    return;
  }
  if (hasFiles(event)) dropped(event);
});
