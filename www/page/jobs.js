// Running the model: only what is missing for the current image, prompts, box and mix, one call
// at a time (www/plan.js decides what; this module runs it and keeps the results). Owns the
// result cache, which image each model encoded, the run state and the timings.
import { ResultCache, boxKey, currentResults, neededKeys, nextJob, queriesOf, textKey } from '../plan.js';
import { mixWeight, updateBoxUi, visualPrompt } from './box.js';
import { currentImage, imageEncoded, restorePrevious } from './image.js';
import { clearError, reportError, setBusy, updateBusy, updateStatus } from './messages.js';
import { segmenter } from './model.js';
import { promptList } from './prompts.js';
import { scheduleRender } from './view.js';

const results = new ResultCache(); // key → { logits, size } of the current image and model
let encodedBy = new WeakMap(); // image → the Segmenter that encoded it
let failed = new WeakSet(); // images the model could not encode
let halted = false; // the last run failed: wait for the user to change something
let pumping = false;
let times = { encode_ms: null, decode_ms: null };

/** The logits of the current prompts exactly as the API returned them (for tests and tools). */
export const lastResult = { prompts: [], logits: {}, box: null, mix: 0 };

export const timings = () => times;
export const queries = () => queriesOf(promptList());
const inputs = () => ({ queries: queries(), vp: visualPrompt(), mix: mixWeight(), results });

/** The result ({ logits, size }) shown for a text prompt now, if computed. */
export const textResult = (query) => results.get(textKey(query, mixWeight(), visualPrompt()));
/** The result of the visual prompt as its own layer, if computed. */
export const boxResult = () => {
  const vp = visualPrompt();
  return vp ? results.get(boxKey(vp)) : undefined;
};
/** True when a model is loaded and an image is open. */
export const modelReady = () => Boolean(segmenter() && currentImage());
/** True when a text prompt's result is still to come from the model. */
export const awaitsModel = (query) => modelReady() && !halted && !textResult(query);

/** A model started loading or finished: results of the old one are gone. */
export function modelChanged() {
  results.clear();
  failed = new WeakSet();
  halted = false;
  times = { encode_ms: null, decode_ms: null };
  pump();
}

/** A new image: nothing computed for it yet. */
export function imageChanged() {
  results.clear();
  times = { encode_ms: null, decode_ms: null };
}

/** Something the model depends on changed: run what is now missing. A user's change also
 * retires the last error message (it was about what they did before). */
export function changed({ fromUser = true } = {}) {
  if (fromUser) clearError();
  halted = false;
  refreshLastResult();
  scheduleRender();
  updateBoxUi();
  pump();
}

function planned() {
  const image = currentImage();
  const model = halted ? null : segmenter();
  return nextJob({ model, image, encodedBy: image && encodedBy.get(image), failed: image && failed.has(image), ...inputs() });
}

async function pump() {
  if (pumping) return;
  pumping = true;
  try {
    for (let job = planned(); job; job = planned()) {
      const model = segmenter();
      if (job.kind === 'encode') await encode(job.image, model);
      else await segment(job, model);
    }
  } finally {
    pumping = false;
    updateBusy();
    refreshLastResult();
    scheduleRender();
  }
}

async function encode(image, model) {
  setBusy('encoding', true);
  try {
    const info = await model.setImage(image.file);
    if (model !== segmenter()) return;
    encodedBy.set(image, model);
    image.previous = null; // no way back needed any more
    if (image !== currentImage()) return;
    results.clear();
    times.encode_ms = info.timings?.encode_ms ?? null;
    imageEncoded(image, info);
    updateStatus();
  } catch (error) {
    if (model !== segmenter()) return;
    reportError(error);
    failed.add(image);
    // Keep working on the previous image rather than on none.
    if (image === currentImage() && image.previous) restorePrevious(image.previous);
  } finally {
    setBusy('encoding', false);
  }
}

async function segment(job, model) {
  setBusy('segmenting', true);
  try {
    const result = await model.segment(job.request);
    if (model !== segmenter() || job.image !== currentImage()) return;
    const { size } = result;
    const plane = size * size;
    const { queries: now, vp, mix } = inputs();
    const needed = neededKeys(now, vp, mix);
    job.keys.forEach((key, i) => results.set(key, { logits: result.logits.slice(i * plane, (i + 1) * plane), size }, needed));
    times.decode_ms = result.timings?.total_ms ?? null;
    updateStatus();
    clearError('run');
  } catch (error) {
    if (model !== segmenter()) return;
    reportError(error, 'run');
    halted = true; // until the user changes something
  } finally {
    setBusy('segmenting', false);
    refreshLastResult();
    scheduleRender();
  }
}

function refreshLastResult() {
  Object.assign(lastResult, currentResults(inputs()));
}
