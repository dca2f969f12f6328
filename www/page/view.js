// What is drawn: the image canvas sized to the viewer (layout) and the overlay of the visible
// layers over it (render, once per frame), with the view settings (mask or heatmap, threshold,
// opacity). Owns the display size and the logits last shown for each layer, which stay drawn
// until fresh ones arrive.
import { MAX_SIDE } from '../clipseg.js';
import { Plane, renderOverlay, rgbOf } from '../overlay.js';
import { BOX_COLOR, boxLayerOn, updateBoxUi, visualPrompt } from './box.js';
import { el, oncePerFrame } from './dom.js';
import { currentImage } from './image.js';
import { boxResult, textResult } from './jobs.js';
import { promptList } from './prompts.js';

const settings = { mode: 'mask', threshold: 0.5, opacity: 0.5 };
/** The canvas' size in CSS pixels and in device pixels, and the image it shows. */
const display = { width: 0, height: 0, pixelWidth: 0, pixelHeight: 0, image: null };
const shown = new Map(); // prompt id → the result last drawn for it (kept while a new run is due)
let shownBox = null;
let overlayImage = null;
const planes = new WeakMap(); // logits → their Plane at the display size

/** { mode: 'mask' | 'heatmap', threshold, opacity }. */
export const viewSettings = () => ({ ...settings });

export const queueLayout = oncePerFrame(() => layout());
export const scheduleRender = oncePerFrame(() => render());

/** A new image: nothing of the old one stays drawn. */
export function resetShown() {
  shown.clear();
  shownBox = null;
}

/** A prompt was deleted. */
export const forgetShown = (promptId) => shown.delete(promptId);

// The canvas fits the viewer's width and the window's height; its pixels are device pixels.
export function layout() {
  const image = currentImage();
  if (!image) return;
  const zone = el.dropZone;
  const style = getComputedStyle(zone);
  const availableWidth = zone.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  const top = zone.getBoundingClientRect().top + window.scrollY;
  const narrow = window.matchMedia('(max-width: 860px)').matches;
  // Below the image: its bar (~44 px) and the fixed status bar (~34 px).
  const availableHeight = narrow
    ? window.innerHeight * 0.7
    : Math.max(280, window.innerHeight - top - 104);
  const scale = Math.min(availableWidth / image.originalWidth, availableHeight / image.originalHeight);
  const width = Math.max(1, Math.round(image.originalWidth * scale));
  const height = Math.max(1, Math.round(image.originalHeight * scale));
  const ratio = Math.min(window.devicePixelRatio || 1, 2);
  const pixelWidth = Math.min(image.width * 2, Math.max(1, Math.round(width * ratio)), MAX_SIDE);
  const pixelHeight = Math.max(1, Math.round((pixelWidth * image.height) / image.width));
  const d = display;
  if (d.width === width && d.height === height && d.pixelWidth === pixelWidth && d.image === image) return;
  Object.assign(d, { width, height, pixelWidth, pixelHeight, image });
  for (const canvas of [el.imageCanvas, el.overlayCanvas]) {
    canvas.width = pixelWidth;
    canvas.height = pixelHeight;
    canvas.style.width = `${width}px`;
    canvas.style.height = `${height}px`;
  }
  el.stage.style.width = `${width}px`;
  el.stage.style.height = `${height}px`;
  const context = el.imageCanvas.getContext('2d');
  context.imageSmoothingQuality = 'high';
  context.drawImage(image.bitmap, 0, 0, pixelWidth, pixelHeight);
  overlayImage = null;
  updateBoxUi();
  scheduleRender();
}

/**
 * The layers drawn now, bottom to top: [{ logits, size, color, name }]. Stale logits stay until
 * new ones come.
 */
export function visibleLayers() {
  const layers = [];
  for (const prompt of promptList()) {
    const fresh = prompt.query ? textResult(prompt.query) : null;
    if (fresh) shown.set(prompt.id, fresh);
    else if (!prompt.query) shown.delete(prompt.id);
    const result = shown.get(prompt.id);
    if (prompt.enabled && result) layers.push({ ...result, color: prompt.color, name: prompt.query });
  }
  if (visualPrompt()) shownBox = boxResult() ?? shownBox;
  else shownBox = null;
  if (boxLayerOn() && shownBox) layers.push({ ...shownBox, color: BOX_COLOR, name: 'box prompt' });
  return layers;
}

function render() {
  const d = display;
  const context = el.overlayCanvas.getContext('2d');
  if (!currentImage() || !d.pixelWidth) return;
  const { pixelWidth: width, pixelHeight: height } = d;
  if (!overlayImage || overlayImage.width !== width || overlayImage.height !== height) {
    overlayImage = new ImageData(width, height);
  }
  const drawn = visibleLayers().map(({ logits, size, color }) => {
    let plane = planes.get(logits);
    if (!plane || plane.dstW !== width || plane.dstH !== height) {
      plane = new Plane(logits, size, size, width, height);
      planes.set(logits, plane);
    }
    return { resizer: plane, rgb: rgbOf(color) };
  });
  renderOverlay({ layers: drawn, width, height, ...settings, out: overlayImage.data });
  context.putImageData(overlayImage, 0, 0);
}

el.threshold.addEventListener('input', () => {
  settings.threshold = Number(el.threshold.value);
  el.thresholdValue.textContent = settings.threshold.toFixed(2);
  scheduleRender();
});
el.opacity.addEventListener('input', () => {
  settings.opacity = Number(el.opacity.value);
  el.opacityValue.textContent = settings.opacity.toFixed(2);
  scheduleRender();
});
el.viewMode.addEventListener('change', () => {
  settings.mode = el.viewMode.value === 'heatmap' ? 'heatmap' : 'mask';
  el.threshold.disabled = settings.mode === 'heatmap';
  scheduleRender();
});

new ResizeObserver(queueLayout).observe(el.dropZone);
window.addEventListener('resize', queueLayout);

// Controls reflect their defaults even after a reload that kept form values.
el.threshold.value = String(settings.threshold);
el.opacity.value = String(settings.opacity);
el.viewMode.value = settings.mode;
