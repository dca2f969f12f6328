// The model's side of the images: which image is the model's current one, and the next images
// encoded in the background (`seg.encode(file, { key })`), one at a time while no foreground
// work waits, into the worker's small cache of encoded images — so moving on costs no encode.
// Keeps a mirror of that cache's ids.
import { fileOf } from './files.js';
import { reportError, setBusy } from './messages.js';
import { foregroundTask, segmenter, whenIdle } from './model.js';
import { editor, imageKey, save } from './state.js';

const LOOK_AHEAD = 2; // images encoded ahead of the current one
const KEPT = 4; // encoded images the worker keeps (current, previous, next ones)

let modelImage = null; // the id of the model's current image
const encoded = []; // ids encoded in the worker, least recent first
let queueRunning = false;
const counts = { ahead: 0, warm: 0, cold: 0 }; // background encodes; images made current encoded or not
const failed = new Set(); // listeners for images the background encode could not read

/** listener(id) when the background encode finds an image it cannot read. */
export function onUnreadable(listener) {
  failed.add(listener);
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
    counts[encoded.includes(id) ? 'warm' : 'cold']++;
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

/** How many images were encoded ahead, and made current already encoded (warm) or not (cold). */
export const encodeCounts = () => ({ ...counts });

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
export async function encodeAhead() {
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
        counts.ahead++;
        if (!next.width) {
          project.setImageInfo(next.id, { width: info.originalWidth, height: info.originalHeight });
          save();
        }
        // The current image stays the most recent in the mirror: the worker keeps it too.
        remember(next.id);
        if (modelImage !== null) remember(modelImage);
      } catch (error) {
        // (Said as the image list and the export say it: "“name”: why".)
        project.setImageInfo(next.id, { error: error.kind === 'image' ? 'not an image this browser can open' : error.message });
        save();
        for (const listener of failed) listener(next.id);
      }
    }
  } finally {
    queueRunning = false;
  }
}

