// The page's second worker: builds the downloads (a full-resolution mask, an image + overlay
// composite) off the main thread, so a 12000×8000 photo never freezes the page. Each layer
// comes with its logits and their side (`size`, the model's logitsSize).
//
// It also runs the labelling library (crate/src/labels, in the same wasm module as the model,
// whose model code stays unused here) for the labelling page: class masks and their regions,
// RLE, the dataset files and the COCO reader — the code the CLI runs (www/labels.js is the
// page's side).
import init, {
  classMask, decodeRle, decodeRleCrop, encodeRle, encodeRleCrop, exportFiles, importCoco,
} from '../pkg/clipseg.js';
import { zipSync } from '../vendor/fflate/browser.js';
import { Transfer, serve } from './rpc.js';
import { Resizer, maskRows, renderOverlay } from './overlay.js';
import { grayscalePng } from './png.js';

let wasm = null;
const labelsReady = () => (wasm ??= init());

const resizerOf = ({ logits, size }, width, height) => new Resizer(logits, size, size, width, height);

async function mask({ layers, width, height, threshold }) {
  const resizers = layers.map((layer) => resizerOf(layer, width, height));
  return grayscalePng(width, height, (y0, y1, out) => maskRows(resizers, threshold, y0, y1, out));
}

async function composite({ bitmap, layers, width, height, mode, threshold, opacity }) {
  const canvas = new OffscreenCanvas(width, height);
  const context = canvas.getContext('2d');
  context.drawImage(bitmap, 0, 0, width, height);
  bitmap.close();
  const overlay = layers.map((layer) => ({ resizer: resizerOf(layer, width, height), rgb: layer.rgb }));
  // The overlay in bands, each drawn over the image (putImageData would replace the pixels).
  const band = Math.max(1, Math.min(height, Math.floor((1 << 20) / width)));
  const layer = new OffscreenCanvas(width, band);
  const layerContext = layer.getContext('2d');
  const pixels = new ImageData(width, band);
  for (let y0 = 0; y0 < height; y0 += band) {
    const y1 = Math.min(height, y0 + band);
    renderOverlay({ layers: overlay, width, height, mode, threshold, opacity, y0, y1, out: pixels.data });
    layerContext.clearRect(0, 0, width, band);
    layerContext.putImageData(pixels, 0, 0);
    context.drawImage(layer, 0, 0, width, y1 - y0, 0, y0, width, y1 - y0);
  }
  return canvas.convertToBlob({ type: 'image/png' });
}

const labels = {
  async classMask({ logits, size, width, height, threshold }) {
    await labelsReady();
    const result = classMask(logits, size, width, height, threshold);
    const buffers = ['components', 'areas', 'boxes'].map((key) => result[key].buffer);
    return new Transfer(result, buffers);
  },

  async encodeRle({ mask, width, height }) {
    await labelsReady();
    return encodeRle(mask, width, height);
  },

  async decodeRle({ counts, width, height }) {
    await labelsReady();
    const mask = decodeRle(counts, width, height);
    return new Transfer(mask, [mask.buffer]);
  },

  async encodeCrop({ crop: { x, y, w, h, data }, width, height }) {
    await labelsReady();
    return encodeRleCrop(data, x, y, w, h, width, height);
  },

  async decodeCrop({ counts, width, height }) {
    await labelsReady();
    const crop = decodeRleCrop(counts, width, height);
    return new Transfer(crop, [crop.data.buffer]);
  },

  async importCoco({ text }) {
    await labelsReady();
    return JSON.parse(importCoco(text));
  },

  // One zip: each format's files under its own folder (coco/, yolo/, png/).
  async exportZip({ dataset, formats, segmentation }) {
    await labelsReady();
    const json = JSON.stringify(dataset);
    const tree = {};
    for (const format of formats) {
      for (const [path, bytes] of exportFiles(json, format, segmentation)) tree[`${format}/${path}`] = bytes;
    }
    // PNGs are compressed already; the text files shrink.
    return new Blob([zipSync(tree, { level: 6 })], { type: 'application/zip' });
  },
};

serve(self, { mask, composite, ...labels });
