// Autosave: the project lives in IndexedDB, written at once after every change — the project's
// meta record, the records of the images an edit touched, the undo history entry by entry, and
// each image file (a Blob) once when it is added. A reload restores all of it, undo history
// included. A failed write (quota, a denied or missing database) is shown to the person, the
// indicator says "Not saved", and what was not written stays marked to be written by the next
// save or a Retry: nothing is dropped silently. Only "New project" clears the database.
import { History } from './history.js';
import { Project } from './project.js';
import { reportError, setNotice, setSaveState, setStorageKept } from './messages.js';

const DB_NAME = 'clipseg-label';
const DB_VERSION = 1;
const STORES = ['meta', 'images', 'files', 'history'];

let db = null;
let editor = null;
let saving = null; // the save in progress
let again = false; // another save was asked for during it
let failed = null; // the last failure, until a save succeeds

const request = (req) => new Promise((resolve, reject) => {
  req.onsuccess = () => resolve(req.result);
  req.onerror = () => reject(req.error);
});

const done = (tx) => new Promise((resolve, reject) => {
  tx.oncomplete = () => resolve();
  tx.onerror = () => reject(tx.error ?? new Error('the write was refused'));
  tx.onabort = () => reject(tx.error ?? new Error('the write was aborted'));
});

function open() {
  if (!globalThis.indexedDB) return Promise.reject(new Error('this browser offers no IndexedDB (a private window?)'));
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, DB_VERSION);
    req.onupgradeneeded = () => {
      for (const name of STORES) if (!req.result.objectStoreNames.contains(name)) req.result.createObjectStore(name);
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
    req.onblocked = () => reject(new Error('the project database is blocked by another tab of this page: close it and reload'));
  });
}

/** Why a write failed, in words. */
function why(error) {
  if (error?.name === 'QuotaExceededError') return 'the browser’s storage for this site is full (free space, or export the dataset and start a new project)';
  return error?.message || String(error);
}

/**
 * Opens the database and reads the saved project: resolves to { project, history } (a new
 * project when none is saved). `owner` is the Editor whose changes `save` writes.
 */
export async function restore(owner) {
  editor = owner;
  try {
    db = await open();
  } catch (error) {
    failed = error;
    setSaveState('unsaved', `Cannot save: ${why(error)}`);
    reportError(`Your work cannot be saved in this browser: ${why(error)}. Export the dataset before leaving.`);
    return { project: Project.create(), history: new History() };
  }
  const tx = db.transaction(['meta', 'images', 'history'], 'readonly');
  const [meta, historyState, images, entries] = await Promise.all([
    request(tx.objectStore('meta').get('project')),
    request(tx.objectStore('meta').get('history')),
    request(tx.objectStore('images').getAll()),
    request(tx.objectStore('history').getAll()),
  ]);
  if (!meta) {
    setSaveState('saved');
    return { project: Project.create(), history: new History() };
  }
  try {
    const project = Project.restore(meta, images);
    const history = History.restore(historyState, entries);
    setSaveState('saved');
    return { project, history };
  } catch (error) {
    reportError(`The saved project could not be read (${why(error)}); it is left as it is. Start a new project to replace it.`);
    failed = error;
    setSaveState('unsaved', 'The saved project could not be read.');
    db = null; // never overwrite what could not be read
    return { project: Project.create(), history: new History() };
  }
}

/**
 * Asks the browser to keep this site's storage (not evicted under pressure); the save
 * indicator's tooltip says whether it will.
 */
export async function persist() {
  let kept = false;
  try {
    kept = (await navigator.storage?.persist?.()) ?? false;
  } catch {
    kept = false;
  }
  setStorageKept(kept);
  return kept;
}

// Two tabs of this page would each save their own copy of the project over the other's: each
// tab says hello, and one that hears another says so.
const tabs = globalThis.BroadcastChannel ? new BroadcastChannel('clipseg-label') : null;
if (tabs) {
  tabs.onmessage = ({ data }) => {
    if (data === 'hello') tabs.postMessage('here');
    if (data === 'hello' || data === 'here') {
      setNotice('tabs', 'The labelling page is open in another tab of this browser too. Work in one of them only: each saves its own copy of the project over the other’s.');
    }
  };
  tabs.postMessage('hello');
}

/** Writes what changed since the last save, now (saves are serial; one asked during another follows it). */
export function save() {
  if (saving) {
    again = true;
    return saving;
  }
  saving = (async () => {
    do {
      again = false;
      await writeDirty();
    } while (again);
  })().finally(() => {
    saving = null;
  });
  return saving;
}

async function writeDirty() {
  const { project, history } = editor;
  const dirty = project.takeDirty();
  const entries = history.takeDirty();
  if (!dirty.meta && !dirty.images.length && !entries.put.length && !entries.remove.length && !entries.state && !failed) {
    return;
  }
  setSaveState('saving');
  try {
    if (!db) throw failed ?? new Error('no database');
    const tx = db.transaction(['meta', 'images', 'history'], 'readwrite');
    const finished = done(tx);
    const meta = tx.objectStore('meta');
    meta.put(project.meta(), 'project'); // small: always, so it never lags the images
    meta.put(history.state(), 'history');
    const images = tx.objectStore('images');
    for (const id of dirty.images) {
      const record = project.imageRecord(id);
      if (record) images.put(record, id);
    }
    const store = tx.objectStore('history');
    for (const entry of entries.put) store.put(entry, entry.seq);
    for (const seq of entries.remove) store.delete(seq);
    await finished;
    failed = null;
    setSaveState('saved');
  } catch (error) {
    project.markDirty(dirty);
    history.markDirty(entries);
    failed = error;
    const text = why(error);
    setSaveState('unsaved', `The last changes are not saved: ${text}`, () => save());
    reportError(`Your last change could not be saved: ${text}. It stays on the page; saving is tried again with the next change (or press Retry).`);
  }
}

/** Stores image files: [{ id, file }]. Throws (after showing why) when they cannot be stored. */
export async function putFiles(items) {
  if (!items.length) return;
  try {
    if (!db) throw failed ?? new Error('no database');
    const tx = db.transaction(['files'], 'readwrite');
    const finished = done(tx);
    for (const { id, file } of items) tx.objectStore('files').put(file, id);
    await finished;
  } catch (error) {
    failed = error;
    setSaveState('unsaved', `Images not saved: ${why(error)}`, () => save());
    reportError(`The images could not be stored in this browser: ${why(error)}. They stay open in this tab, but a reload would lose them.`);
  }
}

/** The stored file of an image (a Blob), or null. */
export async function getFile(id) {
  if (!db) return null;
  return request(db.transaction(['files'], 'readonly').objectStore('files').get(id)).then((file) => file ?? null, () => null);
}

/** Empties the database (New project). */
export async function clearAll() {
  db ??= await open();
  const tx = db.transaction(STORES, 'readwrite');
  const finished = done(tx);
  for (const name of STORES) tx.objectStore(name).clear();
  await finished;
  failed = null;
  setSaveState('saved');
}

/** True while nothing is left unwritten. */
export const isSaved = () => !failed && !saving;
