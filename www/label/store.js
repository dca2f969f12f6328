// Autosave: the project lives in IndexedDB, written at once after every change — the project's
// meta record, the records of the images an edit touched, the undo history entry by entry, and
// each image file (a Blob) once when it is added. A reload restores all of it, undo history
// included. A failed write (quota, a denied or missing database) is reported, the state says
// "unsaved", and what was not written stays marked to be written by the next save or a retry:
// nothing is dropped silently. Only `clearAll` ("New project") empties the database.
//
// No DOM: what the person is told goes through `report` ({ saveState(state, detail, retry),
// error(text), notice(key, text), storageKept(kept) }), so the unit tests run it on a fake
// IndexedDB.
import { History } from './history.js';
import { Project } from './project.js';

const DB_VERSION = 1;
const STORES = ['meta', 'images', 'files', 'history'];

const request = (req) => new Promise((resolve, reject) => {
  req.onsuccess = () => resolve(req.result);
  req.onerror = () => reject(req.error);
});

const done = (tx) => new Promise((resolve, reject) => {
  tx.oncomplete = () => resolve();
  tx.onerror = () => reject(tx.error ?? new Error('the write was refused'));
  tx.onabort = () => reject(tx.error ?? new Error('the write was aborted'));
});

/**
 * Runs `write(tx)` in a readwrite transaction over `stores` and resolves when it is committed.
 * A request that throws (a value that cannot be stored, say) aborts the whole transaction, so a
 * save is written whole or not at all.
 */
async function transaction(db, stores, write) {
  const tx = db.transaction(stores, 'readwrite');
  const finished = done(tx);
  try {
    write(tx);
  } catch (error) {
    finished.catch(() => {}); // the abort's rejection: the error below says it
    try {
      tx.abort();
    } catch {
      // already finished
    }
    throw error;
  }
  await finished;
}

/** Why a write failed, in words. */
export function why(error) {
  if (error?.name === 'QuotaExceededError') return 'the browser’s storage for this site is full (free space, or export the dataset and start a new project)';
  return (error?.message || String(error)).replace(/\.$/, '');
}

const fresh = () => ({ project: Project.create(), history: new History() });

export class Store {
  #idb;
  #name;
  #report;
  #db = null;
  #editor = null;
  #saving = null; // the save in progress
  #again = false; // another save was asked for during it
  #failed = null; // the last failure, until a save succeeds

  constructor({ indexedDB = globalThis.indexedDB, name = 'clipseg-label', report }) {
    this.#idb = indexedDB;
    this.#name = name;
    this.#report = report;
  }

  #open() {
    if (!this.#idb) return Promise.reject(new Error('this browser offers no IndexedDB (a private window?)'));
    return new Promise((resolve, reject) => {
      const req = this.#idb.open(this.#name, DB_VERSION);
      req.onupgradeneeded = () => {
        for (const store of STORES) if (!req.result.objectStoreNames.contains(store)) req.result.createObjectStore(store);
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
      req.onblocked = () => reject(new Error('the project database is blocked by another tab of this page: close it and reload'));
    });
  }

  /**
   * Opens the database and reads the saved project: resolves to { project, history } (a new
   * project when none is saved). `editor` is the Editor whose changes `save` writes.
   */
  async restore(editor) {
    this.#editor = editor;
    try {
      this.#db = await this.#open();
    } catch (error) {
      this.#failed = error;
      this.#report.saveState('unsaved', `Cannot save: ${why(error)}`);
      this.#report.error(`Your work cannot be saved in this browser: ${why(error)}. Export the dataset before leaving.`);
      return fresh();
    }
    const tx = this.#db.transaction(['meta', 'images', 'history'], 'readonly');
    const [meta, historyState, images, entries] = await Promise.all([
      request(tx.objectStore('meta').get('project')),
      request(tx.objectStore('meta').get('history')),
      request(tx.objectStore('images').getAll()),
      request(tx.objectStore('history').getAll()),
    ]);
    if (!meta) {
      this.#report.saveState('saved');
      return fresh();
    }
    try {
      const restored = { project: Project.restore(meta, images), history: History.restore(historyState, entries) };
      this.#report.saveState('saved');
      return restored;
    } catch (error) {
      this.#report.error(`The saved project could not be read (${why(error)}); it is left as it is. Start a new project to replace it.`);
      this.#failed = error;
      this.#report.saveState('unsaved', 'The saved project could not be read.');
      this.#db = null; // never overwrite what could not be read
      return fresh();
    }
  }

  /** Asks the browser to keep this site's storage under pressure; reports whether it will. */
  async persist(storage = globalThis.navigator?.storage) {
    let kept = false;
    try {
      kept = (await storage?.persist?.()) ?? false;
    } catch {
      kept = false;
    }
    this.#report.storageKept(kept);
    return kept;
  }

  /**
   * Where tabs cannot be told apart by a Web Lock (www/label/tabs.js), two tabs of this page
   * would each save their own copy of the project over the other's: each tab says hello, and one
   * that hears another says so.
   */
  watchTabs(Channel = globalThis.BroadcastChannel) {
    if (!Channel) return;
    const tabs = new Channel(this.#name);
    tabs.onmessage = ({ data }) => {
      if (data === 'hello') tabs.postMessage('here');
      if (data === 'hello' || data === 'here') {
        this.#report.notice('tabs', 'The labelling page is open in another tab of this browser too. Work in one of them only: each saves its own copy of the project over the other’s.');
      }
    };
    tabs.postMessage('hello');
  }

  /** Writes what changed since the last save, now (saves are serial; one asked during another follows it). */
  save() {
    if (this.#saving) {
      this.#again = true;
      return this.#saving;
    }
    this.#saving = (async () => {
      do {
        this.#again = false;
        await this.#writeDirty();
      } while (this.#again);
    })().finally(() => {
      this.#saving = null;
    });
    return this.#saving;
  }

  async #writeDirty() {
    if (!this.#editor) return;
    const { project, history } = this.#editor;
    const dirty = project.takeDirty();
    const entries = history.takeDirty();
    const nothing = !dirty.meta && !dirty.images.length && !entries.put.length && !entries.remove.length && !entries.state;
    if (nothing && !this.#failed) return;
    this.#report.saveState('saving');
    try {
      if (!this.#db) throw this.#failed ?? new Error('no database');
      await transaction(this.#db, ['meta', 'images', 'history'], (tx) => {
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
      });
      this.#failed = null;
      this.#report.saveState('saved');
    } catch (error) {
      project.markDirty(dirty);
      history.markDirty(entries);
      this.#failed = error;
      const text = why(error);
      this.#report.saveState('unsaved', `The last changes are not saved: ${text}`, () => this.save());
      this.#report.error(this.#db
        ? `Your last change could not be saved: ${text}. It stays on the page; saving is tried again with the next change (or press Retry).`
        : `Your work cannot be saved in this browser: ${text}. It stays on this page: export the dataset before leaving.`);
    }
  }

  /** Stores image files: [{ id, file }]; a failure is reported (the files stay in this tab). */
  async putFiles(items) {
    if (!items.length) return true;
    try {
      if (!this.#db) throw this.#failed ?? new Error('no database');
      await transaction(this.#db, ['files'], (tx) => {
        for (const { id, file } of items) tx.objectStore('files').put(file, id);
      });
      return true;
    } catch (error) {
      this.#failed = error;
      this.#report.saveState('unsaved', `Images not saved: ${why(error)}`, () => this.save());
      this.#report.error(`The images could not be stored in this browser: ${why(error)}. They stay open in this tab, but a reload would lose them.`);
      return false;
    }
  }

  /** The stored file of an image (a Blob), or null. */
  async getFile(id) {
    if (!this.#db) return null;
    return request(this.#db.transaction(['files'], 'readonly').objectStore('files').get(id)).then((file) => file ?? null, () => null);
  }

  /** Empties the database (New project); throws when it cannot. */
  async clearAll() {
    this.#db ??= await this.#open();
    await transaction(this.#db, STORES, (tx) => {
      for (const store of STORES) tx.objectStore(store).clear();
    });
    this.#failed = null;
    this.#report.saveState('saved');
  }
}
