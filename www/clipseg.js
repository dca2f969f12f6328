// clipseg-web's JavaScript API: CLIPSeg in a dedicated Web Worker (burn compiled to wasm, on
// WebGPU or the CPU). Encode an image once, then segment any number of prompts against it.
//
//   const seg = await Segmenter.load({ modelUrl: 'models/clipseg-rd64-refined/', backend: 'auto' });
//   await seg.setImage(file);
//   const r = await seg.segment({ prompts: ['a cat', 'the sofa'] });   // r.logits: P × r.size × r.size
//
// Failures reject with a SegmenterError whose `kind` (one of ERROR_KINDS) says what failed. The
// model (crate/src/web.rs) checks the prompts themselves; this file checks only the types that
// must cross to the worker.
import { ERROR_KINDS, MODEL_KINDS, RESTART_KINDS, SegmenterError } from './errors.js';
import { connect } from './rpc.js';

export { ERROR_KINDS, MODEL_KINDS, SegmenterError };

/** Longer image sides are scaled down to this before processing (and for display). */
export const MAX_SIDE = 4096;

const WORKER_URL = new URL('./worker.js', import.meta.url);
const toError = ({ kind, message }) => new SegmenterError(message, { kind });

/** Reads the `models/manifest.json` that lists the models a site serves. */
export async function listModels(manifestUrl = 'models/manifest.json') {
  const response = await fetch(manifestUrl).catch(() => null);
  if (!response?.ok) return [];
  const manifest = await response.json();
  return manifest.models ?? [];
}

// Decodes an image source to what the worker takes: a file's own bytes when it is small enough
// (the wasm decoder then matches the native CLI exactly), else pixels the browser scaled down.
async function imagePayload(source) {
  if (typeof ImageData !== 'undefined' && source instanceof ImageData) {
    const { width, height } = source;
    return { payload: { rgba: source.data.slice().buffer, width, height }, width, height };
  }
  if (typeof ImageBitmap !== 'undefined' && source instanceof ImageBitmap) {
    const { width, height } = source;
    return { payload: { bitmap: await scaledBitmap(source, width, height) }, width, height };
  }
  if (!(source instanceof Blob)) {
    throw new SegmenterError('setImage takes a Blob/File, an ImageBitmap or ImageData', { kind: 'usage' });
  }
  let bitmap;
  try {
    bitmap = await createImageBitmap(source);
  } catch {
    throw new SegmenterError(`${source.name || 'the file'} is not an image this browser can open: use a PNG, JPEG, WebP, GIF or BMP file`, { kind: 'image' });
  }
  const { width, height } = bitmap;
  if (Math.max(width, height) <= MAX_SIDE) {
    bitmap.close();
    return { payload: { bytes: await source.arrayBuffer() }, width, height };
  }
  const scaled = await scaledBitmap(bitmap, width, height);
  bitmap.close();
  return { payload: { bitmap: scaled }, width, height };
}

// A message that can be sent any number of times (to a restarted worker too): a bitmap is
// transferred, and so used up, by each send, so each send gets a fresh copy made off-thread.
function resendable(op, payload) {
  if (!payload.bitmap) return () => ({ op, args: payload, transfer: [] });
  const kept = payload.bitmap;
  return async () => {
    const bitmap = await createImageBitmap(kept);
    return { op, args: { bitmap }, transfer: [bitmap] };
  };
}

async function scaledBitmap(bitmap, width, height) {
  const scale = Math.min(1, MAX_SIDE / Math.max(width, height));
  return createImageBitmap(bitmap, {
    resizeWidth: Math.max(1, Math.round(width * scale)),
    resizeHeight: Math.max(1, Math.round(height * scale)),
    resizeQuality: 'high',
  });
}

/** How many keyed images (see `Segmenter.encode`) the page side remembers the bytes of. */
const KEYED_IMAGES = 8;

/** A one-byte-per-pixel mask resized by nearest neighbour (the source pixel under each centre). */
export function resampleNearest(mask, width, height, toWidth, toHeight) {
  const out = new Uint8Array(toWidth * toHeight);
  for (let y = 0; y < toHeight; y++) {
    const row = Math.min(height - 1, Math.floor(((y + 0.5) * height) / toHeight)) * width;
    for (let x = 0; x < toWidth; x++) {
      out[y * toWidth + x] = mask[row + Math.min(width - 1, Math.floor(((x + 0.5) * width) / toWidth))];
    }
  }
  return out;
}

// What must hold for the arguments to cross to the worker; the model checks the rest.
function checkedRequest({ prompts, visual, mix }) {
  const usage = (message) => new SegmenterError(message, { kind: 'usage' });
  const isText = (p) => typeof p === 'string';
  if (!Array.isArray(prompts) || !prompts.every((p) => isText(p) || (Array.isArray(p) && p.every(isText)))) {
    throw usage('prompts must be an array of strings (or of arrays of phrasings)');
  }
  if (visual !== undefined && (typeof visual !== 'object' || visual === null)) {
    throw usage('visual must be an object: { box?, mask?, image? }');
  }
  if (visual?.mask !== undefined && !(visual.mask instanceof Uint8Array)) {
    throw usage('a visual mask is a Uint8Array, one byte per pixel of its image');
  }
  if (visual?.mask !== undefined && visual.box !== undefined) throw usage('give a box or a mask, not both');
  const box = visual?.box;
  if (box !== undefined && (!Array.isArray(box) || box.length !== 4 || !box.every(Number.isFinite))) {
    throw usage('a box is four numbers: [x0, y0, x1, y1]');
  }
  if (mix !== undefined && typeof mix !== 'number') throw usage('mix must be a number');
}

export class Segmenter {
  /**
   * Starts the worker and loads a model directory (config.json, model.safetensors,
   * tokenizer.json) from `modelUrl`, through Cache Storage.
   * integrity: { config, weights, tokenizer: { bytes, sha256 } } (a manifest entry's): downloads
   * that differ are refused, cached copies that differ are fetched again.
   * backend: 'webgpu' | 'cpu' | 'auto' (WebGPU when an adapter exists, else the CPU).
   * threads: false keeps the CPU backend on one thread even where the threaded module could run
   * (cross-origin isolated pages of a site that has it; default true).
   * onProgress({ file, loaded, total }): download progress, bytes.
   * onEvent({ type: 'device-lost' | 'recovered', message }): the worker had to be restarted.
   */
  static async load({ modelUrl, tokenizerUrl, integrity, backend = 'auto', threads = true, onProgress, onEvent } = {}) {
    if (!modelUrl) throw new SegmenterError('load needs a modelUrl', { kind: 'usage' });
    if (!['webgpu', 'cpu', 'auto'].includes(backend)) {
      throw new SegmenterError(`unknown backend "${backend}" (webgpu, cpu or auto)`, { kind: 'backend' });
    }
    const base = globalThis.document?.baseURI ?? globalThis.location?.href;
    const options = {
      modelUrl: new URL(modelUrl.endsWith('/') ? modelUrl : `${modelUrl}/`, base).href,
      tokenizerUrl: tokenizerUrl && new URL(tokenizerUrl, base).href,
      integrity,
      backend,
      threads: Boolean(threads),
    };
    const segmenter = new Segmenter(options, onProgress, onEvent);
    await segmenter.#start();
    return segmenter;
  }

  #options;
  #onProgress;
  #onEvent;
  #rpc = null;
  #image = null; // the message that set the current image, re-sent to a restarted worker
  #example = null;
  #exampleSource = null;
  #scales = { image: 1, example: 1 }; // processed size / original size
  #exampleSize = null; // the example image's size as processed
  #keyed = new Map(); // key → { source, message, image }, least recently used first

  constructor(options, onProgress, onEvent) {
    this.#options = options;
    this.#onProgress = onProgress;
    this.#onEvent = onEvent;
    /** 'webgpu' or 'cpu': the backend actually in use. */
    this.backend = null;
    /** The GPU adapter's description, or 'wasm CPU'. */
    this.adapter = null;
    /** The CPU backend's threads: more than 1 on the threaded wasm module (cross-origin isolated
     * pages of a site that has it); 1 otherwise, and on WebGPU. */
    this.threads = null;
    /** The model's input side, pixels: images are resized to inputSize × inputSize. */
    this.inputSize = null;
    /** The side of each logits map (352 for the CIDAS checkpoints). */
    this.logitsSize = null;
    /** True when the model's files came from Cache Storage. */
    this.cached = false;
    /** Where the load's time went, ms: reading the model's files (files_ms), then waiting for
     * the wasm module that was starting meanwhile (module_wait_ms), then building the model
     * (create_ms). */
    this.loadTimings = null;
    /** The current image's size as processed: { width, height, originalWidth, originalHeight, scaled }. */
    this.image = null;
  }

  /** The backend in words, for a status line: 'WebGPU · <adapter>' or 'CPU (wasm, 2 threads)'. */
  get backendLabel() {
    if (this.backend === 'webgpu') return `WebGPU · ${this.adapter}`;
    return `CPU (wasm${this.threads > 1 ? `, ${this.threads} threads` : ''})`;
  }

  async #start(backend = this.#options.backend) {
    this.#rpc?.close(new SegmenterError('the model worker was restarted: try again', { kind: 'usage' }));
    this.#rpc = connect(new Worker(WORKER_URL, { type: 'module' }), {
      name: 'model worker',
      toError,
      onEvent: (data) => {
        if (data.event === 'progress') this.#onProgress?.({ file: data.file, loaded: data.loaded, total: data.total });
        else if (data.event === 'device-lost') this.#onEvent?.({ type: 'device-lost', message: data.message });
      },
    });
    const info = await this.#rpc.call('load', { ...this.#options, backend });
    for (const key of ['backend', 'adapter', 'threads', 'inputSize', 'logitsSize', 'cached']) this[key] = info[key];
    this.loadTimings = info.timings;
  }

  async #send(message) {
    if (!this.#rpc) throw new SegmenterError('this segmenter was disposed', { kind: 'usage' });
    const { op, args, transfer } = await message();
    return this.#rpc.call(op, args, transfer);
  }

  // Runs a request; if the worker died (a wasm trap or a lost WebGPU device), starts a new
  // one, restores the model and images, and runs the request once more.
  async #run(message) {
    try {
      return await this.#send(message);
    } catch (error) {
      if (!RESTART_KINDS.includes(error.kind) || !this.#rpc) throw error;
      await this.#recover(error.message);
      return this.#send(message);
    }
  }

  async #recover(reason) {
    try {
      await this.#start(this.#options.backend);
    } catch {
      await this.#start('cpu');
    }
    if (this.#image) await this.#send(this.#image);
    if (this.#example) await this.#send(this.#example);
    this.#onEvent?.({ type: 'recovered', message: `restarted the model on ${this.backend} after: ${reason}` });
  }

  /**
   * Sets (and encodes, once) the image to segment: a Blob/File, an ImageBitmap or ImageData.
   * With a `key`, the worker keeps the encoded image (see `encode`): setting a kept key again
   * costs no encode.
   */
  async setImage(source, { key } = {}) {
    const { message, image } = await this.#prepared(source, key);
    const result = await this.#run(async () => {
      const sent = await message();
      return { ...sent, args: { ...sent.args, key } };
    });
    this.#image = message;
    this.#scales.image = result.width / image.originalWidth;
    this.image = image;
    return { ...image, timings: result.timings };
  }

  /**
   * Encodes an image in the background and keeps it under `key` (the worker keeps a few, the
   * least recently used dropped first), without changing the current image; a later
   * `setImage(source, { key })` is then instant.
   */
  async encode(source, { key } = {}) {
    if (typeof key !== 'string') throw new SegmenterError('encode needs a string key', { kind: 'usage' });
    const { message, image } = await this.#prepared(source, key);
    const result = await this.#run(async () => {
      const sent = await message();
      return { ...sent, op: 'encode', args: { ...sent.args, key } };
    });
    return { ...image, timings: result.timings };
  }

  // The message for an image and its sizes; a keyed image is read and measured once.
  async #prepared(source, key) {
    const known = key === undefined ? undefined : this.#keyed.get(key);
    if (known?.source === source) {
      this.#keyed.delete(key);
      this.#keyed.set(key, known);
      return known;
    }
    const { payload, width, height } = await imagePayload(source);
    const message = resendable('setImage', payload);
    const processed = payload.bitmap ?? { width, height };
    const image = {
      width: processed.width,
      height: processed.height,
      originalWidth: width,
      originalHeight: height,
      scaled: processed.width !== width || processed.height !== height,
    };
    const prepared = { source, message, image };
    if (key !== undefined) {
      this.#keyed.set(key, prepared);
      if (this.#keyed.size > KEYED_IMAGES) this.#keyed.delete(this.#keyed.keys().next().value);
    }
    return prepared;
  }

  /** Sets the example image for visual prompts from another picture. */
  async setExample(source) {
    const { payload, width } = await imagePayload(source);
    const message = resendable('setExample', payload);
    const result = await this.#run(message);
    this.#example = message;
    this.#exampleSource = source;
    this.#scales.example = result.width / width;
    this.#exampleSize = result;
    return result;
  }

  /**
   * Segments the current image.
   * prompts: text prompts, one output each: a string, or an array of phrasings whose text
   *   conditionals are averaged (['a flag', 'the stars and stripes']).
   * visual: { box?: [x0, y0, x1, y1], mask?: Uint8Array, image?: source } — a visual prompt: the
   *   object in the box, or under the mask (one byte per pixel, row-major, nonzero = object), in
   *   the original pixels of the current image, or of `image` when given; neither: the whole
   *   image.
   * mix: 0…1, with both kinds: each text prompt becomes (1 − mix)·text + mix·visual.
   * Returns { logits: Float32Array (count × size × size, before sigmoid), count, size, timings },
   * size being `logitsSize`.
   */
  async segment({ prompts = [], visual, mix } = {}) {
    checkedRequest({ prompts, visual, mix });
    let source;
    let box;
    let mask;
    if (visual) {
      if (visual.image && visual.image !== this.#exampleSource) await this.setExample(visual.image);
      source = visual.image ? 'example' : 'image';
      // The box and mask in the processed image's pixels (a large image was scaled down).
      box = visual.box?.map((v) => v * this.#scales[source]);
      if (visual.mask) mask = this.#processedMask(visual.mask, source);
    }
    const args = { prompts, visual: source, box, mix, mask };
    const { logits, timings } = await this.#run(() => ({ op: 'segment', args, transfer: [] }));
    const size = this.logitsSize;
    return { logits, count: logits.length / (size * size), size, timings };
  }

  // A visual-prompt mask given at the original size, at the size the model sees (nearest).
  #processedMask(mask, source) {
    const scale = this.#scales[source];
    const processed = source === 'image' ? this.image : this.#exampleSize;
    const original = source === 'image'
      ? { width: this.image.originalWidth, height: this.image.originalHeight }
      : { width: Math.round(processed.width / scale), height: Math.round(processed.height / scale) };
    if (mask.length !== original.width * original.height) {
      throw new SegmenterError(
        `a mask of ${mask.length} bytes for an image of ${original.width}×${original.height} pixels`,
        { kind: 'prompt' },
      );
    }
    if (scale === 1) return mask;
    return resampleNearest(mask, original.width, original.height, processed.width, processed.height);
  }

  /** Stops the worker and frees the model. */
  dispose() {
    this.#rpc?.close(new SegmenterError('this segmenter was disposed', { kind: 'usage' }));
    this.#rpc = null;
  }
}
