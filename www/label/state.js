// The page's shared objects: the Editor (the open project and its history: www/label/editor.js)
// and the labelling library's worker (www/labels.js), started on first use.
import { Labels } from '../labels.js';
import { Editor } from './editor.js';

export const editor = new Editor();

let labels = null;
/** The labelling worker (class masks, RLE, the dataset zip, COCO import). */
export const labelsWorker = () => (labels ??= new Labels());

/** The image a key of the model's cache names. */
export const imageKey = (id) => `image-${id}`;
