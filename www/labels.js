// The labelling library for the page: class masks at full resolution and their 8-connected
// regions, COCO RLE, the dataset zip (COCO / YOLO / PNG) and the COCO reader. The work runs in
// the export worker (www/export-worker.js), in the Rust code the CLI runs (crate/src/labels),
// so the page never blocks and the browser and the CLI write the same datasets.
//
//   const labels = new Labels();
//   const { components, count, areas, boxes } = await labels.classMask({ logits, size, width, height, threshold });
//
// Failures reject with a SegmenterError whose `kind` says what failed (`annotations` for a bad
// label file).
import { SegmenterError } from './errors.js';
import { connect } from './rpc.js';

const toError = ({ kind, message }) => new SegmenterError(message, { kind });

export class Labels {
  #rpc;

  /** Starts the worker, or shares one made with `connect` over `worker`. */
  constructor(worker = new Worker(new URL('./export-worker.js', import.meta.url), { type: 'module' })) {
    this.#rpc = connect(worker, { toError, name: 'labelling worker' });
  }

  /**
   * The mask of one class over the whole image: `logits` (a Float32Array of size × size, before
   * sigmoid) resized to width × height and above `threshold` after sigmoid, as the CLI's
   * `segment --mask`, as its regions. Resolves to `{ count, components, areas, boxes }`:
   * `components` the region of each pixel (0 = outside the mask, 1…count), region l's area
   * `areas[l]` and COCO box `boxes.subarray(4 * l, 4 * l + 4)` = [x, y, w, h].
   */
  classMask({ logits, size, width, height, threshold }) {
    return this.#rpc.call('classMask', { logits, size, width, height, threshold });
  }

  /** A mask (one byte per pixel, row-major, nonzero = object) as compressed COCO RLE counts. */
  encodeRle(mask, width, height) {
    return this.#rpc.call('encodeRle', { mask, width, height });
  }

  /** Compressed COCO RLE counts back to a mask (Uint8Array, 0/1). */
  decodeRle(counts, width, height) {
    return this.#rpc.call('decodeRle', { counts, width, height });
  }

  /**
   * A mask kept as the crop of its box, `{ x, y, w, h, data }` (data: w × h bytes, nonzero =
   * object), on a width × height image → the image's compressed COCO RLE counts.
   */
  encodeCrop(crop, width, height) {
    return this.#rpc.call('encodeCrop', { crop, width, height });
  }

  /** Compressed COCO RLE counts → the crop of the mask's box, `{ x, y, w, h, data }` (0/1). */
  decodeCrop(counts, width, height) {
    return this.#rpc.call('decodeCrop', { counts, width, height });
  }

  /**
   * The dataset as one zip Blob: `dataset` is COCO instances (images, categories, annotations
   * with `segmentation: { size: [h, w], counts }` compressed RLE; area and bbox are computed).
   * formats: any of 'coco', 'yolo', 'png', each in its own folder; segmentation: how COCO
   * stores masks, 'rle' (exact, the default), 'polygons' (holes filled) or 'auto'.
   */
  exportZip(dataset, { formats = ['coco', 'yolo', 'png'], segmentation = 'rle' } = {}) {
    return this.#rpc.call('exportZip', { dataset, formats, segmentation });
  }

  /**
   * Reads a COCO instances file's text: resolves to the dataset with every segmentation as
   * compressed RLE (polygons rasterised as pycocotools does) and each area and box computed.
   */
  importCoco(text) {
    return this.#rpc.call('importCoco', { text });
  }

  /** Stops the worker. */
  dispose() {
    this.#rpc.close(new SegmenterError('the labelling worker was stopped', { kind: 'usage' }));
  }
}
