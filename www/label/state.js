// The page's shared objects: the Editor (the open project and its history: www/label/editor.js),
// the Store that saves it (store.js, reporting through messages.js), and the labelling
// library's worker (www/labels.js), started on first use.
import { Labels } from '../labels.js';
import { Editor } from './editor.js';
import { reportError, setNotice, setSaveState, setStorageKept } from './messages.js';
import { Store } from './store.js';

export const editor = new Editor();

export const store = new Store({
  report: { saveState: setSaveState, error: reportError, notice: setNotice, storageKept: setStorageKept },
});

/** Saves what changed (see Store.save). */
export const save = () => store.save();

let labels = null;
/** The labelling worker (class masks, RLE, the dataset zip, COCO import). */
export const labelsWorker = () => (labels ??= new Labels());

/**
 * The key of an image in the model worker's cache of encoded images: ids start again in a new
 * project, so the key names the project too.
 */
export const imageKey = (id) => `${editor.project.createdAt}-${id}`;
