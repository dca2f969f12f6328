// The active class's mask on the current image: its logits from one decode (cached per image
// and class prompt, so coming back costs nothing), turned by the labelling worker into the
// full-resolution mask and its 8-connected regions at the class's threshold. The hover, the
// click and "accept all" read the regions. A class of several prompts is one prompt of several
// phrasings (their text conditionals averaged, as `clipseg label NAME=P1;P2`); a class with an
// example instance ("more like this") mixes that mask, as a visual prompt, into its text. Owns the logits cache and the current regions.
import { modelImageId, setModelImage } from './encoder.js';
import { fileOf } from './files.js';
import { classPrompt, promptKey } from './logits.js';
import { fullMask, regionMask } from './mask.js';
import { decodeMask } from './rle.js';
import { reportError, setBusy } from './messages.js';
import { foregroundTask, segmenter } from './model.js';
import { editor, labelsWorker } from './state.js';

const CACHE = 48; // logits maps kept (≈ 0.5 MB each for the CIDAS models)

const logitsCache = new Map(); // `${imageId}|${promptKey}` → { data: Float32Array (size × size), size }, LRU
let regions = null; // { imageId, classId, key, threshold, width, height, count, components, areas, boxes }
let wanted = null; // what `regions` should be
let running = false;
const crops = new Map(); // region label → mask, for `regions`
const listeners = new Set();

/** listener(regions or null, busy) when the regions change, and when computing starts and ends. */
export function onRegions(listener) {
  listeners.add(listener);
}

export const currentRegions = () => regions;
export const pending = () => running;

/** The visual prompt of a class's example: { mask, image? } (image when it is on another image). */
export async function exemplarPrompt(exemplar, currentId) {
  const mask = fullMask(decodeMask(exemplar.counts, exemplar.width, exemplar.height), exemplar.width, exemplar.height);
  if (exemplar.imageId === currentId) return { mask };
  const image = await fileOf(exemplar.imageId);
  if (!image) throw new Error('the example instance’s image is no longer stored');
  return { mask, image };
}

/** The class's logits on image `imageId` (the model's current image): one decode, then cached. */
export async function classLogits(cls, imageId) {
  const key = `${imageId}|${promptKey(cls)}`;
  const cached = logitsCache.get(key);
  if (cached) {
    logitsCache.delete(key);
    logitsCache.set(key, cached);
    return cached;
  }
  const result = await foregroundTask(async (seg) => {
    if (!(await setModelImage(seg, imageId))) return null;
    const request = { prompts: [classPrompt(cls)] };
    if (cls.exemplar) {
      request.visual = await exemplarPrompt(cls.exemplar, imageId);
      request.mix = editor.project.settings.likeMix;
    }
    return seg.segment(request);
  });
  if (!result) return null;
  const logits = { data: result.logits, size: result.size };
  logitsCache.set(key, logits);
  while (logitsCache.size > CACHE) logitsCache.delete(logitsCache.keys().next().value);
  return logits;
}

/** Asks for the active class's regions on the current image (the latest ask wins). */
export function refresh() {
  const { project } = editor;
  const image = project.currentImage;
  const cls = project.activeClass;
  if (!image?.width || image.error || !cls || !segmenter() || modelImageId() !== image.id) {
    wanted = null;
    if (regions) setRegions(null);
    return;
  }
  wanted = { imageId: image.id, classId: cls.id, key: promptKey(cls), threshold: cls.threshold, width: image.width, height: image.height };
  if (regions && same(regions, wanted)) return;
  // Another image or class: its old regions must not be clicked meanwhile. (Another threshold
  // or prompt of the same class keeps them on show until the new ones are ready.)
  if (regions && (regions.imageId !== wanted.imageId || regions.classId !== wanted.classId)) setRegions(null);
  run();
}

const same = (a, b) => a.imageId === b.imageId && a.classId === b.classId && a.key === b.key && a.threshold === b.threshold;

async function run() {
  if (running) return;
  running = true;
  setBusy('segmenting', true);
  for (const listener of listeners) listener(regions, true);
  try {
    while (wanted && !(regions && same(regions, wanted))) {
      const target = wanted;
      const cls = editor.project.classById(target.classId);
      if (!cls) break;
      let next = null;
      try {
        const logits = await classLogits(cls, target.imageId);
        if (logits && wanted === target) {
          const result = await labelsWorker().classMask({
            logits: logits.data, size: logits.size, width: target.width, height: target.height, threshold: target.threshold,
          });
          next = { ...target, ...result };
        }
      } catch (error) {
        reportError(error);
        wanted = null;
        break;
      }
      if (next && wanted && same(next, wanted)) setRegions(next);
    }
  } finally {
    running = false;
    setBusy('segmenting', false);
    for (const listener of listeners) listener(regions, false);
  }
}

function setRegions(next) {
  regions = next;
  crops.clear();
  for (const listener of listeners) listener(regions, running);
}

/** The region label under original pixel (x, y), 0 for none. */
export function regionAt(x, y) {
  if (!regions) return 0;
  const xi = Math.floor(x);
  const yi = Math.floor(y);
  if (xi < 0 || yi < 0 || xi >= regions.width || yi >= regions.height) return 0;
  return regions.components[yi * regions.width + xi];
}

/** Region `label` as a mask (cached while the regions last). */
export function regionCrop(label) {
  if (!regions || !label) return null;
  let crop = crops.get(label);
  if (!crop) {
    const box = Array.from(regions.boxes.subarray(4 * label, 4 * label + 4));
    crop = regionMask(regions.components, regions.width, label, box);
    crops.set(label, crop);
  }
  return crop;
}

/** Every region's label with its area, for "accept all". */
export function regionList() {
  if (!regions) return [];
  return Array.from({ length: regions.count }, (_, i) => ({ label: i + 1, area: regions.areas[i + 1] }));
}

/** Drops the cached logits of an image (its file changed) or all. */
export function forget(imageId = null) {
  for (const key of [...logitsCache.keys()]) if (imageId === null || key.startsWith(`${imageId}|`)) logitsCache.delete(key);
  if (imageId === null || regions?.imageId === imageId) setRegions(null);
}

/** Segments a box with the class's prompts mixed in: resolves to the regions' result (not kept). */
export async function boxRegions(cls, imageId, box, width, height) {
  const result = await foregroundTask(async (seg) => {
    if (!(await setModelImage(seg, imageId))) return null;
    return seg.segment({ prompts: [classPrompt(cls)], visual: { box }, mix: editor.project.settings.boxMix });
  });
  if (!result) return null;
  return labelsWorker().classMask({ logits: result.logits, size: result.size, width, height, threshold: cls.threshold });
}
