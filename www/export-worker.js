// The page's second worker: builds the downloads (a full-resolution mask, an image + overlay
// composite) off the main thread, so a 12000×8000 photo never freezes the page.
import { Resizer, maskRows, renderOverlay } from './overlay.js';
import { grayscalePng } from './png.js';

const SIZE = 352;

async function mask({ layers, width, height, threshold }) {
  const resizers = layers.map(({ logits }) => new Resizer(logits, SIZE, SIZE, width, height));
  return grayscalePng(width, height, (y0, y1, out) => maskRows(resizers, threshold, y0, y1, out));
}

async function composite({ bitmap, layers, width, height, mode, threshold, opacity }) {
  const canvas = new OffscreenCanvas(width, height);
  const context = canvas.getContext('2d');
  context.drawImage(bitmap, 0, 0, width, height);
  bitmap.close();
  const overlay = layers.map(({ logits, rgb }) => ({ resizer: new Resizer(logits, SIZE, SIZE, width, height), rgb }));
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

const jobs = { mask, composite };

self.onmessage = async ({ data: { id, op, args } }) => {
  try {
    const blob = await jobs[op](args);
    self.postMessage({ id, ok: true, blob });
  } catch (error) {
    self.postMessage({ id, ok: false, error: error?.message ?? String(error) });
  }
};
