// clipseg-web's JavaScript API: CLIPSeg in a dedicated Web Worker (burn compiled to wasm, on
// WebGPU or the CPU). Encode an image once, then segment any number of prompts against it.
//
//   const seg = await Segmenter.load({ modelUrl: 'models/clipseg-rd64-refined/', backend: 'auto' });
//   await seg.setImage(file);
//   const r = await seg.segment({ prompts: ['a cat', 'the sofa'] });   // r.logits: P × 352 × 352

/** The model's input and output side: logits are `size × size` per prompt. */
export const MODEL_SIZE = 352;
/** Longer image sides are scaled down to this before processing (and for display). */
export const MAX_SIDE = 4096;

const WORKER_URL = new URL('./worker.js', import.meta.url);

export class SegmenterError extends Error {
  constructor(message, { model = false } = {}) {
    super(message);
    this.name = 'SegmenterError';
    /** True when the model files are missing, partial or not a CLIPSeg model. */
    this.model = model;
  }
}

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
  if (source instanceof ImageData) {
    const { width, height } = source;
    return { payload: { rgba: source.data.slice().buffer, width, height }, width, height };
  }
  if (typeof ImageBitmap !== 'undefined' && source instanceof ImageBitmap) {
    const { width, height } = source;
    return { payload: { bitmap: await scaledBitmap(source, width, height) }, width, height };
  }
  if (!(source instanceof Blob)) {
    throw new SegmenterError('setImage takes a Blob/File, an ImageBitmap or ImageData');
  }
  let bitmap;
  try {
    bitmap = await createImageBitmap(source);
  } catch {
    throw new SegmenterError(`${source.name || 'the file'} is not an image this browser can open`);
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

export class Segmenter {
  /**
   * Starts the worker and loads a model directory (config.json, model.safetensors,
   * tokenizer.json) from `modelUrl`, through Cache Storage.
   * backend: 'webgpu' | 'cpu' | 'auto' (WebGPU when an adapter exists, else the CPU).
   * onProgress({ file, loaded, total }): download progress, bytes.
   * onEvent({ type: 'device-lost' | 'recovered', message }): the worker had to be restarted.
   */
  static async load({ modelUrl, tokenizerUrl, backend = 'auto', onProgress, onEvent } = {}) {
    if (!modelUrl) throw new SegmenterError('load needs a modelUrl');
    if (!['webgpu', 'cpu', 'auto'].includes(backend)) {
      throw new SegmenterError(`unknown backend "${backend}" (webgpu, cpu or auto)`);
    }
    const options = {
      modelUrl: new URL(modelUrl.endsWith('/') ? modelUrl : `${modelUrl}/`, document.baseURI).href,
      tokenizerUrl: tokenizerUrl && new URL(tokenizerUrl, document.baseURI).href,
      backend,
    };
    const segmenter = new Segmenter(options, onProgress, onEvent);
    await segmenter.#start();
    return segmenter;
  }

  #options;
  #onProgress;
  #onEvent;
  #worker = null;
  #pending = new Map();
  #nextId = 0;
  #image = null; // the message that set the current image, re-sent to a restarted worker
  #example = null;
  #exampleSource = null;
  #scales = { image: 1, example: 1 }; // processed size / original size

  constructor(options, onProgress, onEvent) {
    this.#options = options;
    this.#onProgress = onProgress;
    this.#onEvent = onEvent;
    /** 'webgpu' or 'cpu': the backend actually in use. */
    this.backend = null;
    /** The GPU adapter's description, or 'wasm CPU'. */
    this.adapter = null;
    /** The model's config.json. */
    this.config = null;
    /** The current image's size as processed: { width, height, originalWidth, originalHeight, scaled }. */
    this.image = null;
  }

  async #start(backend = this.#options.backend) {
    this.#worker?.terminate();
    this.#worker = new Worker(WORKER_URL, { type: 'module' });
    this.#worker.onmessage = ({ data }) => this.#receive(data);
    this.#worker.onerror = (event) => {
      event.preventDefault?.();
      this.#failAll(new SegmenterError(`the model worker failed: ${event.message || 'could not start'}`));
    };
    const info = await this.#call('load', { ...this.#options, backend });
    Object.assign(this, { backend: info.backend, adapter: info.adapter, config: info.config });
    this.cached = info.cached;
  }

  #receive(data) {
    if (data.event === 'progress') {
      this.#onProgress?.({ file: data.file, loaded: data.loaded, total: data.total });
      return;
    }
    if (data.event === 'device-lost') {
      this.#onEvent?.({ type: 'device-lost', message: data.message });
      return;
    }
    const call = this.#pending.get(data.id);
    if (!call) return;
    this.#pending.delete(data.id);
    if (data.ok) call.resolve(data.result);
    else call.reject(Object.assign(new SegmenterError(data.error, { model: data.model }), { fatal: data.fatal }));
  }

  #failAll(error) {
    for (const call of this.#pending.values()) call.reject(error);
    this.#pending.clear();
  }

  #call(op, args, transfer = []) {
    if (!this.#worker) return Promise.reject(new SegmenterError('this segmenter was disposed'));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ id, op, args }, transfer);
    });
  }

  async #send(message) {
    const { op, args, transfer } = await message();
    return this.#call(op, args, transfer);
  }

  // Runs a request; if the worker died (a wasm trap or a lost WebGPU device), starts a new
  // one, restores the model and images, and runs the request once more.
  async #run(message) {
    try {
      return await this.#send(message);
    } catch (error) {
      if (!error.fatal && !/device was lost/.test(error.message)) throw error;
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

  /** Sets (and encodes, once) the image to segment: a Blob/File, an ImageBitmap or ImageData. */
  async setImage(source) {
    const { payload, width, height } = await imagePayload(source);
    const message = resendable('setImage', payload);
    const result = await this.#run(message);
    this.#image = message;
    this.#scales.image = result.width / width;
    this.image = {
      width: result.width,
      height: result.height,
      originalWidth: width,
      originalHeight: height,
      scaled: result.width !== width || result.height !== height,
    };
    return { ...this.image, timings: result.timings };
  }

  /** Sets the example image for visual prompts from another picture. */
  async setExample(source) {
    const { payload, width } = await imagePayload(source);
    const message = resendable('setExample', payload);
    const result = await this.#run(message);
    this.#example = message;
    this.#exampleSource = source;
    this.#scales.example = result.width / width;
    return result;
  }

  /**
   * Segments the current image.
   * prompts: text prompts, one output each.
   * visual: { box?: [x0, y0, x1, y1], image?: source } — a visual prompt: the object in the box
   *   (in the original pixels of the current image, or of `image` when given); no box: the
   *   whole image.
   * mix: 0…1, with both kinds: each text prompt becomes (1 − mix)·text + mix·visual.
   * Returns { logits: Float32Array (outputs × 352 × 352, before sigmoid), count, size: 352, timings }.
   */
  async segment({ prompts = [], visual, mix } = {}) {
    if (!Array.isArray(prompts)) throw new SegmenterError('prompts must be an array of strings');
    if (prompts.some((p) => typeof p !== 'string' || !p.trim())) {
      throw new SegmenterError('a text prompt is empty');
    }
    if (!prompts.length && !visual) throw new SegmenterError('give at least one text prompt or a visual prompt');
    if (!this.image) throw new SegmenterError('no image is set: call setImage first');
    let source;
    let box;
    if (visual) {
      if (visual.image && visual.image !== this.#exampleSource) await this.setExample(visual.image);
      source = visual.image ? 'example' : 'image';
      box = visual.box && this.#checkedBox(visual.box, source);
    }
    if (mix !== undefined && !(mix >= 0 && mix <= 1)) throw new SegmenterError('mix must be within 0 and 1');
    const args = { prompts, visual: source, box, mix };
    const { logits, timings } = await this.#run(() => ({ op: 'segment', args, transfer: [] }));
    return { logits, count: logits.length / (MODEL_SIZE * MODEL_SIZE), size: MODEL_SIZE, timings };
  }

  // The box in the processed image's pixels (a large image was scaled down).
  #checkedBox(box, source) {
    if (!Array.isArray(box) || box.length !== 4 || box.some((v) => !Number.isFinite(v))) {
      throw new SegmenterError('a box is four numbers: [x0, y0, x1, y1]');
    }
    const [x0, y0, x1, y1] = box;
    if (x1 - x0 < 1 || y1 - y0 < 1) throw new SegmenterError('the box has no area: drag out a larger box');
    return box.map((v) => v * this.#scales[source]);
  }

  /** Stops the worker and frees the model. */
  dispose() {
    this.#worker?.terminate();
    this.#worker = null;
    this.#failAll(new SegmenterError('this segmenter was disposed'));
  }
}
