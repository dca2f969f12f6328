// The labelling page's autosave (www/label/store.js) on a small in-memory IndexedDB: a reload
// restores the project and its undo history; each save writes only what changed; a failed
// write is reported, leaves the state "unsaved", and is written by the next save — never
// dropped; a saved project of another version is never overwritten; New project empties it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Editor } from '../../www/label/editor.js';
import { areaOf, bboxOf, emptyMask, stroke } from '../../www/label/mask.js';
import { encodeMask } from '../../www/label/rle.js';
import './rle-codec.mjs';
import { Store } from '../../www/label/store.js';

// ---- A minimal IndexedDB: databases of object stores with out-of-line keys, structured clones,
// transactions that commit at the end of the task unless aborted, and a switch that makes every
// put throw.
class Request {
  settle(result, error) {
    queueMicrotask(() => {
      if (error) {
        this.error = error;
        this.onerror?.();
      } else {
        this.result = result;
        this.onsuccess?.();
      }
    });
    return this;
  }
}

class FakeIDB {
  databases = new Map();
  failWrites = null; // an Error thrown by every put, when set
  failStore = null; // …or only by the puts to this store
  puts = [];

  open(name) {
    const req = new Request();
    queueMicrotask(() => {
      let db = this.databases.get(name);
      const upgrade = !db;
      if (!db) {
        db = { stores: new Map() };
        this.databases.set(name, db);
      }
      const handle = this.#handle(db);
      req.result = handle;
      if (upgrade) req.onupgradeneeded?.();
      req.onsuccess?.();
    });
    return req;
  }

  #handle(db) {
    const fake = this;
    return {
      objectStoreNames: { contains: (store) => db.stores.has(store) },
      createObjectStore: (store) => db.stores.set(store, new Map()),
      transaction(names, mode) {
        const staged = new Map(names.map((n) => [n, new Map(db.stores.get(n))]));
        const tx = { error: null };
        let failed = null;
        const store = (n) => ({
          get: (key) => new Request().settle(structuredClone(staged.get(n).get(key))),
          getAll: () => new Request().settle([...staged.get(n).values()].map((v) => structuredClone(v))),
          put(value, key) {
            if (mode !== 'readwrite') throw new Error('read-only transaction');
            if (fake.failWrites && (!fake.failStore || fake.failStore === n)) throw fake.failWrites;
            fake.puts.push(`${n}:${key}`);
            staged.get(n).set(key, structuredClone(value));
            return new Request().settle(key);
          },
          delete: (key) => {
            staged.get(n).delete(key);
            return new Request().settle(undefined);
          },
          clear: () => {
            staged.get(n).clear();
            return new Request().settle(undefined);
          },
        });
        // As in IndexedDB, a request that throws does not end the transaction by itself: it
        // commits what was written unless abort() is called.
        tx.objectStore = store;
        tx.abort = () => {
          failed = new DOMException('The transaction was aborted.', 'AbortError');
        };
        setTimeout(() => {
          if (failed) {
            tx.error = failed;
            tx.onabort?.();
            return;
          }
          for (const [n, data] of staged) db.stores.set(n, data);
          tx.oncomplete?.();
        }, 0);
        return tx;
      },
    };
  }
}

function reporter() {
  const seen = { states: [], errors: [], notices: [], retry: null, kept: null };
  return {
    seen,
    report: {
      saveState: (state, detail, retry) => {
        seen.states.push(state);
        seen.retry = retry ?? null;
      },
      error: (text) => seen.errors.push(text),
      notice: (key, text) => seen.notices.push([key, text]),
      storageKept: (kept) => {
        seen.kept = kept;
      },
    },
  };
}

const W = 32;
const H = 24;
function disc(classId, x, y, r) {
  const mask = stroke(emptyMask(), [x, y], [x, y], r, 1, W, H);
  return { classId, counts: encodeMask(mask, W, H), bbox: bboxOf(mask), area: areaOf(mask) };
}

// A page load: a store on `idb`, restoring into a new editor.
async function load(idb) {
  const { seen, report } = reporter();
  const store = new Store({ indexedDB: idb, name: 'test', report });
  const editor = new Editor();
  const { project, history } = await store.restore(editor);
  editor.replace(project, history);
  return { store, editor, seen };
}

async function someWork(editor, store) {
  const { project } = editor;
  editor.commit(project.addClass({ name: 'cat' }));
  project.addImages([{ name: 'a.png', bytes: 10 }, { name: 'b.png', bytes: 20 }]);
  for (const image of project.images) project.setImageInfo(image.id, { width: W, height: H });
  await store.putFiles(project.images.map((image) => ({ id: image.id, file: new Blob([image.name]) })));
  editor.commit(project.addInstances(1, [disc(1, 8, 8, 4)]));
  await store.save();
  editor.setCurrentImage(2);
  editor.commit(project.addInstances(2, [disc(1, 20, 12, 5), disc(1, 4, 4, 2)]));
  editor.commit(project.updateInstance(2, project.images[1].instances[0].id, { hidden: true }));
  editor.undo();
  await store.save();
}

const plain = (editor) => JSON.parse(JSON.stringify({
  meta: editor.project.meta(), images: editor.project.images, state: editor.history.state(), entries: editor.history.entries,
}));

test('a reload restores the project, its files and its undo history, redo included', async () => {
  const idb = new FakeIDB();
  const first = await load(idb);
  await someWork(first.editor, first.store);
  assert.deepEqual(first.seen.errors, []);
  assert.equal(first.seen.states.at(-1), 'saved');
  const again = await load(idb);
  assert.deepEqual(plain(again.editor), plain(first.editor));
  assert.equal(await (await again.store.getFile(2)).text(), 'b.png');
  assert.equal(again.editor.project.currentImageId, 2);
  again.editor.redo();
  assert.equal(again.editor.project.imageById(2).instances[0].hidden, true);
  for (let i = 0; i < 4; i++) again.editor.undo();
  assert.equal(again.editor.project.currentImageId, 1, 'undo went back to the first image');
  assert.equal(again.editor.project.imageById(1).instances.length, 0);
});

test('a save writes the meta, the history and only the images an edit touched', async () => {
  const idb = new FakeIDB();
  const { editor, store } = await load(idb);
  await someWork(editor, store);
  idb.puts = [];
  editor.commit(editor.project.deleteInstances(2, [editor.project.images[1].instances[1].id]));
  await store.save();
  assert.deepEqual(idb.puts.sort(), ['history:5', 'images:2', 'meta:history', 'meta:project'], 'the new entry (the undone one is deleted)');
  idb.puts = [];
  await store.save();
  assert.deepEqual(idb.puts, [], 'nothing changed: nothing written');
});

test('a failed write is reported, stays unsaved, and the next save writes it', async () => {
  const idb = new FakeIDB();
  const { editor, store, seen } = await load(idb);
  await someWork(editor, store);
  idb.failWrites = Object.assign(new Error('quota'), { name: 'QuotaExceededError' });
  editor.commit(editor.project.addInstances(1, [disc(1, 25, 18, 3)]));
  await store.save();
  assert.equal(seen.states.at(-1), 'unsaved');
  assert.match(seen.errors.at(-1), /could not be saved: the browser’s storage for this site is full/);
  assert.equal(typeof seen.retry, 'function');
  // A reload now would not have it…
  assert.equal((await load(idb)).editor.project.imageById(1).instances.length, 1);
  // …the retry writes it, with the history entry.
  idb.failWrites = null;
  await seen.retry();
  assert.equal(seen.states.at(-1), 'saved');
  const after = await load(idb);
  assert.equal(after.editor.project.imageById(1).instances.length, 2);
  assert.deepEqual(plain(after.editor), plain(editor));
});

test('a save that fails part-way writes nothing: the project on disk stays whole', async () => {
  const idb = new FakeIDB();
  const { editor, store, seen } = await load(idb);
  await someWork(editor, store);
  const before = plain((await load(idb)).editor);
  idb.failWrites = new DOMException('An image record cannot be cloned.', 'DataCloneError');
  idb.failStore = 'images'; // after the meta and history puts of the same save
  editor.commit(editor.project.addInstances(1, [disc(1, 25, 18, 3)]));
  await store.save();
  assert.equal(seen.states.at(-1), 'unsaved');
  await new Promise((resolve) => setTimeout(resolve, 5)); // past the transaction's end
  assert.deepEqual(plain((await load(idb)).editor), before, 'neither the meta nor the history entry were written');
});

test('files that cannot be stored are reported', async () => {
  const idb = new FakeIDB();
  const { store, seen } = await load(idb);
  idb.failWrites = new Error('denied');
  assert.equal(await store.putFiles([{ id: 1, file: new Blob(['x']) }]), false);
  assert.match(seen.errors.at(-1), /images could not be stored in this browser: denied/);
  assert.equal(seen.states.at(-1), 'unsaved');
});

test('a saved project that cannot be read is never overwritten; New project clears it', async () => {
  const idb = new FakeIDB();
  const first = await load(idb);
  await someWork(first.editor, first.store);
  // A project saved by a later version of the page.
  idb.databases.get('test').stores.get('meta').set('project', { ...first.editor.project.meta(), version: 99 });
  const second = await load(idb);
  assert.match(second.seen.errors.at(-1), /could not be read/);
  assert.equal(second.editor.project.images.length, 0);
  second.editor.commit(second.editor.project.addClass({ name: 'dog' }));
  await second.store.save();
  assert.equal(second.seen.states.at(-1), 'unsaved');
  assert.equal(idb.databases.get('test').stores.get('meta').get('project').version, 99, 'kept as it was');
  await second.store.clearAll();
  assert.equal(idb.databases.get('test').stores.get('images').size, 0);
  const third = await load(idb);
  assert.equal(third.editor.project.images.length, 0);
  assert.deepEqual(third.seen.errors, []);
});

test('no IndexedDB at all: said at once, and every save says so', async () => {
  const { editor, store, seen } = await load(undefined);
  assert.match(seen.errors[0], /cannot be saved in this browser: this browser offers no IndexedDB/);
  editor.commit(editor.project.addClass({ name: 'cat' }));
  await store.save();
  assert.equal(seen.states.at(-1), 'unsaved');
});

test('persistent storage and other tabs are reported', async () => {
  const { store, seen } = await load(new FakeIDB());
  assert.equal(await store.persist({ persist: async () => true }), true);
  assert.equal(seen.kept, true);
  assert.equal(await store.persist({ persist: async () => { throw new Error('no'); } }), false);
  // Two tabs on one channel: each hears the other.
  const channels = [];
  class Channel {
    constructor() {
      channels.push(this);
    }

    postMessage(data) {
      for (const other of channels) if (other !== this) queueMicrotask(() => other.onmessage?.({ data }));
    }
  }
  const other = await load(new FakeIDB());
  store.watchTabs(Channel);
  other.store.watchTabs(Channel);
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(seen.notices.at(-1)?.[0], 'tabs');
  assert.equal(other.seen.notices.at(-1)?.[0], 'tabs');
});
