// The one vocabulary of failures, from the wasm Session (crate/src/web.rs) through the model's
// worker to the page: every failure carries a `kind`, and code branches on it, never on message
// text. Imports nothing and touches no DOM (the worker and the unit tests load it too).

/** Every kind a SegmenterError can have. */
export const ERROR_KINDS = Object.freeze([
  // Thrown by the wasm Session (a JS Error with a `kind` property):
  'config', // config.json is not a CLIPSeg config
  'weights', // model.safetensors is missing tensors, truncated, or of the wrong shape
  'tokenizer', // tokenizer.json cannot be read
  'image', // the image cannot be decoded (corrupt, no pixels)
  'unsupported-image', // a format the wasm decoder does not read (the worker then asks the browser)
  'prompt', // an empty prompt, a box with no area or outside the image, a bad mix, nothing to segment
  'usage', // a wrong call: wrong types, the wrong order (no image set), a disposed segmenter
  'backend', // the backend cannot start: no WebGPU adapter or device (`auto` then uses the CPU)
  'device', // the GPU failed during compute
  'io', // reading or writing failed
  'annotations', // a labelling file (COCO, RLE, polygons, YOLO) or mask is invalid
  // Added by the worker and the API:
  'crashed', // the wasm module trapped, or the worker died: it is restarted
  'download', // a model file cannot be fetched (HTTP error, offline and not cached, incomplete)
  'device-lost', // WebGPU lost the device: the worker is restarted
  'internal', // a failure that carries no kind (a bug)
]);

/** Kinds that mean "this model cannot be used": the page shows how to get a good one. */
export const MODEL_KINDS = Object.freeze(['config', 'weights', 'tokenizer', 'download']);

/** Kinds after which the worker is unusable: the API restarts it and retries once. */
export const RESTART_KINDS = Object.freeze(['crashed', 'device-lost']);

/** The kind of a failure, for the page and for callers of the JS API. */
export class SegmenterError extends Error {
  constructor(message, { kind = 'usage' } = {}) {
    super(message);
    this.name = 'SegmenterError';
    /** One of ERROR_KINDS. */
    this.kind = ERROR_KINDS.includes(kind) ? kind : 'internal';
  }

  /** True when the model files are missing, partial or not a CLIPSeg model. */
  get model() {
    return MODEL_KINDS.includes(this.kind);
  }
}

/** An Error with a kind, for the worker's own failures. */
export function kindError(kind, message) {
  return Object.assign(new Error(message), { kind });
}

/**
 * What the worker reports for a failure: `{ kind, message }`. A wasm trap is "crashed"; anything
 * after WebGPU lost its device is "device-lost"; otherwise the error's own kind, or "internal".
 */
export function describeError(error, { deviceLost = false } = {}) {
  const message = String(error?.message ?? error);
  if (typeof WebAssembly !== 'undefined' && error instanceof WebAssembly.RuntimeError) {
    return { kind: 'crashed', message };
  }
  if (deviceLost) return { kind: 'device-lost', message };
  return { kind: ERROR_KINDS.includes(error?.kind) ? error.kind : 'internal', message };
}
