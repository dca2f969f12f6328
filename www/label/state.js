// The page's shared objects: the Editor (the open project and its history: www/label/editor.js)
// and the labelling library's worker (www/labels.js), started on first use.
import { Labels } from '../labels.js';
import { Editor } from './editor.js';

export const editor = new Editor();

let labels = null;
/** The labelling worker (class masks, RLE, the dataset zip, COCO import). */
export const labelsWorker = () => (labels ??= new Labels());

/**
 * The key of an image in the model worker's cache of encoded images: ids start again in a new
 * project, so the key names the project too.
 */
export const imageKey = (id) => `${editor.project.createdAt}-${id}`;
