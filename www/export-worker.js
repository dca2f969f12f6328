// The page's second worker: builds the downloads (a full-resolution mask, an image + overlay
// composite) off the main thread, so a 12000×8000 photo never freezes the page. Each layer
// comes with its logits and their side (`size`, the model's logitsSize).
import { Resizer, maskRows, renderOverlay } from './overlay.js';
import { grayscalePng } from './png.js';
import { serve } from './rpc.js';

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

serve(self, { mask, composite });
