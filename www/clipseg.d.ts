// Types of clipseg-web's JavaScript API (www/clipseg.js), written by hand: the shapes below are what
// the code takes and returns (www/clipseg.js, www/worker.js, crate/src/web.rs).
// tests/unit/types.test.mjs checks that every export is declared and compiles a consumer.

/** Every kind a SegmenterError can have: code branches on it, never on the message. */
export type ErrorKind =
  | 'config' // config.json is not a CLIPSeg config
  | 'weights' // model.safetensors is missing tensors, truncated, or of the wrong shape
  | 'tokenizer' // tokenizer.json cannot be read
  | 'image' // the image cannot be decoded (corrupt, no pixels)
  | 'unsupported-image' // a format the wasm decoder does not read
  | 'prompt' // an empty prompt, a box with no area or outside the image, a bad mix, nothing to segment
  | 'usage' // a wrong call: wrong types, no image set, a disposed segmenter
  | 'backend' // the backend cannot start: no WebGPU adapter or device
  | 'device' // the GPU failed during compute
  | 'io' // reading or writing failed
  | 'annotations' // a labelling file or mask is invalid
  | 'crashed' // the wasm module trapped, or the worker died: it is restarted
  | 'download' // a model file cannot be fetched
  | 'device-lost' // WebGPU lost the device: the worker is restarted
  | 'internal'; // a failure that carries no kind (a bug)

/** The kinds that mean "this model cannot be used" (`SegmenterError.model`). */
export type ModelErrorKind = 'config' | 'weights' | 'tokenizer' | 'download';

/** Every kind a SegmenterError can have. */
export declare const ERROR_KINDS: readonly ErrorKind[];

/** The kinds that mean "this model cannot be used": the model files are missing, partial or wrong. */
export declare const MODEL_KINDS: readonly ModelErrorKind[];

/** What every failure of the API rejects with. */
export declare class SegmenterError extends Error {
  /** A kind outside ERROR_KINDS becomes 'internal'; none is 'usage'. */
  constructor(message?: string, options?: { kind?: ErrorKind });
  name: 'SegmenterError';
  /** What failed. */
  kind: ErrorKind;
  /** True when the model files are missing, partial or not a CLIPSeg model (`kind` in MODEL_KINDS). */
  readonly model: boolean;
}

/** Longer image sides are scaled down to this before processing. */
export declare const MAX_SIDE: 4096;

/** A model a site serves, as listed in its `models/manifest.json` (scripts/stage_models.mjs). */
export interface ModelEntry {
  /** The model directory's name, e.g. 'clipseg-rd64-refined'. */
  id: string;
  /** The model directory, relative to the site's root (the directory that holds models/): 'models/ID/'. */
  url: string;
  /** Its tokenizer.json, relative to the site's root. */
  tokenizer: string;
  /** The weights' storage type in model.safetensors, e.g. 'F16' or 'F32'. */
  dtype: string;
  /** The download size of the model's files. */
  bytes: number;
  /** A random-weight demo model (config.json's `random_weights`): its masks are noise. */
  randomWeights: boolean;
  /** Each file's size and SHA-256, written by the build: pass it to `Segmenter.load`. */
  integrity: ModelIntegrity;
}

/** A file's expected size and SHA-256 (lowercase hex). */
export interface FileDigest {
  bytes: number;
  sha256: string;
}

/** The expected config.json, model.safetensors and tokenizer.json of a model. */
export interface ModelIntegrity {
  config: FileDigest;
  weights: FileDigest;
  tokenizer: FileDigest;
}

/**
 * Reads the manifest that lists the models a site serves (by default models/manifest.json, relative
 * to the page); resolves to [] when there is none. The entries' URLs are relative to the site's root.
 */
export declare function listModels(manifestUrl?: string | URL): Promise<ModelEntry[]>;

/** A one-byte-per-pixel mask (row-major) resized by nearest neighbour: the source pixel under each centre. */
export declare function resampleNearest(
  mask: ArrayLike<number>,
  width: number,
  height: number,
  toWidth: number,
  toHeight: number,
): Uint8Array;

/** A backend the model runs on. */
export type Backend = 'webgpu' | 'cpu';

/** The download progress of a model's files, in bytes summed over the files started so far. */
export interface DownloadProgress {
  /** The file being read. */
  file: 'config' | 'weights' | 'tokenizer';
  loaded: number;
  total: number;
}

/** The worker had to be restarted: the GPU lost its device, or the restart after a failure is done. */
export interface SegmenterEvent {
  type: 'device-lost' | 'recovered';
  message: string;
}

export interface LoadOptions {
  /** The model directory (config.json, model.safetensors, tokenizer.json), relative to the page. */
  modelUrl: string;
  /** The tokenizer.json to use instead of the model directory's own, relative to the page. */
  tokenizerUrl?: string;
  /**
   * The files' sizes and SHA-256 (a manifest entry's `integrity`): downloads that differ are
   * refused, and cached copies that differ are fetched again. Without it, files are trusted by URL.
   */
  integrity?: ModelIntegrity;
  /** 'auto' (the default): WebGPU when the browser has an adapter, else the CPU (wasm). */
  backend?: Backend | 'auto';
  /** false: the CPU backend stays on one thread even where the threaded wasm module could run
   * (cross-origin isolated pages of a site that has it). Default true. */
  threads?: boolean;
  onProgress?: (progress: DownloadProgress) => void;
  onEvent?: (event: SegmenterEvent) => void;
}

/** An image to segment, or an example image: a file's bytes (decoded as the CLI does), a bitmap or pixels. */
export type ImageSource = Blob | ImageBitmap | ImageData;

/** An image's size as the model sees it: images over MAX_SIDE a side are scaled down first. */
export interface ImageInfo {
  width: number;
  height: number;
  originalWidth: number;
  originalHeight: number;
  /** True when the image was scaled down. */
  scaled: boolean;
}

/** An encoded image and how long it took (next to nothing for a key the worker still kept). */
export interface EncodedImage extends ImageInfo {
  timings: { encode_ms: number };
}

/** Pixel corners of a box in the original image: [x0, y0, x1, y1]. */
export type Box = readonly [x0: number, y0: number, x1: number, y1: number];

/** A text prompt: a string, or several phrasings whose text conditionals are averaged. */
export type TextPrompt = string | readonly string[];

/**
 * A visual prompt: the object in `box`, or under `mask` (one byte per pixel of the original image,
 * row-major, nonzero = object), or else the whole image; in the current image, or in `image`.
 */
export type VisualPrompt =
  | { box: Box; mask?: undefined; image?: ImageSource }
  | { mask: Uint8Array; box?: undefined; image?: ImageSource }
  | { image?: ImageSource; box?: undefined; mask?: undefined };

export interface SegmentRequest {
  /** Text prompts: one output each, in order. */
  prompts?: readonly TextPrompt[];
  /** A visual prompt: one more output after the texts, or mixed into each of them (`mix`). */
  visual?: VisualPrompt;
  /** 0…1, with both kinds of prompt: each text prompt's conditional becomes (1 − mix)·text + mix·visual. */
  mix?: number;
}

export interface SegmentResult {
  /** count × size × size logits (before sigmoid, row-major): the mask is where a logit is above 0. */
  logits: Float32Array;
  /** How many outputs. */
  count: number;
  /** The side of each logits map: the segmenter's `logitsSize`. */
  size: number;
  timings: { total_ms: number };
}

/** CLIPSeg in a dedicated Web Worker: encode an image once, then segment any number of prompts on it. */
export declare class Segmenter {
  /** Made by `Segmenter.load`. */
  private constructor();

  /**
   * Starts the worker and loads a model directory through Cache Storage (a second load does not
   * download). Rejects with kind 'usage' without a modelUrl, 'backend' for an unusable backend, and
   * the model kinds for bad model files.
   */
  static load(options: LoadOptions): Promise<Segmenter>;

  /** The backend in use. */
  readonly backend: Backend;
  /** The GPU adapter's description, or 'wasm CPU'. */
  readonly adapter: string;
  /** The CPU backend's threads: more than 1 on the threaded wasm module (cross-origin isolated
   * pages of a site that has it); 1 otherwise, and on WebGPU. */
  readonly threads: number;
  /** The model's input side: images are resized to inputSize × inputSize. */
  readonly inputSize: number;
  /** The side of each logits map (352 for the CIDAS checkpoints). */
  readonly logitsSize: number;
  /** True when the model's files came from Cache Storage. */
  readonly cached: boolean;
  /** Where the load's time went, ms: reading the model's files, then waiting for the wasm module
   * that was starting meanwhile, then building the model. */
  readonly loadTimings: { files_ms: number; module_wait_ms: number; create_ms: number };
  /** The current image's size, null until `setImage`. */
  readonly image: ImageInfo | null;
  /** The backend in words, for a status line: 'WebGPU · <adapter>' or 'CPU (wasm, 2 threads)'. */
  readonly backendLabel: string;

  /**
   * Sets (and encodes, once) the image to segment. With a `key`, the worker keeps the encoded image:
   * setting a kept key again (with the same source) costs no encode.
   */
  setImage(source: ImageSource, options?: { key?: string }): Promise<EncodedImage>;

  /**
   * Encodes an image in the background and keeps it under `key` (the least recently used of a few
   * is dropped), without changing the current image; `setImage(source, { key })` is then instant.
   */
  encode(source: ImageSource, options: { key: string }): Promise<EncodedImage>;

  /** Sets the example image of visual prompts from another picture; resolves to its size as processed. */
  setExample(source: ImageSource): Promise<{ width: number; height: number }>;

  /** Segments the current image: one logits map per text prompt, then the visual prompt's (unless mixed). */
  segment(request?: SegmentRequest): Promise<SegmentResult>;

  /** Stops the worker and frees the model; later calls reject with kind 'usage'. */
  dispose(): void;
}
