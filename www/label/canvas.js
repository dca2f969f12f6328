// The labelling canvas: the image, the instances over it, a brush stroke in progress, and a
// preview layer (the hovered region, the box being drawn, the brush). Stacked canvases at the displayed bitmap's
// size (at most MAX_SIDE a side); masks are in the image's original pixels and each is drawn
// from a sprite of its own box only, so a hover on a 4000×3000 photo redraws one region, not
// the photo. Owns the view: the scale between original pixels and the canvas, the layout, and
// the zoom (the wheel, + and −, 0 to fit; Space-drag or a middle drag pans).
import { rgbOf } from '../overlay.js';
import { el } from './dom.js';

let view = null; // { bitmap, width, height (original pixels), scale (canvas px per original px) }
const sprites = new Map(); // key → canvas of one mask's box
let previewRect = null; // the preview layer's drawn area, canvas pixels
let live = null; // the stroke in progress: { mask, style, sprite }
let zoom = { scale: 1, x: 0, y: 0 }; // CSS transform of the fitted stage: translate(x, y) scale(scale)
const MAX_ZOOM = 32;
const CANVASES = [el.imageCanvas, el.instanceCanvas, el.strokeCanvas, el.previewCanvas];
const ctx = {
  image: el.imageCanvas.getContext('2d'),
  instances: el.instanceCanvas.getContext('2d'),
  stroke: el.strokeCanvas.getContext('2d'),
  preview: el.previewCanvas.getContext('2d'),
};

export const currentView = () => view;

/** Shows a decoded image: `bitmap` (maybe scaled down) of an image `width`×`height` original pixels. */
export function showImage(bitmap, width, height) {
  view = { bitmap, width, height, scale: bitmap.width / width };
  for (const canvas of CANVASES) {
    canvas.width = bitmap.width;
    canvas.height = bitmap.height;
  }
  ctx.image.drawImage(bitmap, 0, 0);
  for (const c of [ctx.instances, ctx.stroke, ctx.preview]) c.imageSmoothingEnabled = false;
  live = null;
  sprites.clear();
  spritePixels = 0;
  previewRect = null;
  zoom = { scale: 1, x: 0, y: 0 };
  applyZoom();
  el.stage.hidden = false;
  el.placeholder.hidden = true;
  el.dropZone.classList.remove('empty');
  layout();
}

/** No image: the placeholder (or a note on the stage, when an image cannot be shown). */
export function clearImage(note = '') {
  view = null;
  sprites.clear();
  spritePixels = 0;
  for (const c of Object.values(ctx)) c.clearRect(0, 0, c.canvas.width, c.canvas.height);
  el.stageNote.textContent = note;
  el.stageNote.hidden = !note;
  el.stage.hidden = !note;
  el.placeholder.hidden = Boolean(note);
  el.dropZone.classList.toggle('empty', !note);
  if (note) {
    for (const canvas of CANVASES) {
      canvas.width = 640;
      canvas.height = 400;
    }
    layout();
  }
}

export function setStageNote(note) {
  el.stageNote.textContent = note;
  el.stageNote.hidden = !note;
}

/** Fits the stage into the space beside the panels, keeping the image's aspect. */
export function layout() {
  const canvas = el.imageCanvas;
  if (!canvas.width) return;
  const box = el.dropZone.getBoundingClientRect();
  const roomW = Math.max(120, el.dropZone.clientWidth - 20);
  // Room for the image's name and the key help below it, and the status bar.
  const statusBar = document.querySelector('.statusbar')?.offsetHeight ?? 0;
  const below = el.hoverInfo.parentElement.offsetHeight + el.keyHelp.offsetHeight + statusBar + 56;
  const roomH = Math.max(200, window.innerHeight - (box.top + window.scrollY) - below);
  const scale = Math.min(roomW / canvas.width, roomH / canvas.height);
  el.stage.style.width = `${Math.floor(canvas.width * scale)}px`;
  el.stage.style.height = `${Math.floor(canvas.height * scale)}px`;
  applyZoom();
}

/** A pointer event's position in original image pixels (fractional), or null. */
export function imagePoint(event) {
  if (!view) return null;
  const rect = el.previewCanvas.getBoundingClientRect();
  return {
    x: ((event.clientX - rect.left) / rect.width) * view.width,
    y: ((event.clientY - rect.top) / rect.height) * view.height,
  };
}

/** The screen position of an original-pixel point (for tests and tooltips). */
export function screenPoint(x, y) {
  if (!view) return null;
  const rect = el.previewCanvas.getBoundingClientRect();
  return { x: rect.left + (x / view.width) * rect.width, y: rect.top + (y / view.height) * rect.height };
}

// Writes the pixels of `rect` [x, y, w, h] (in the mask's box) of a mask's sprite into `image`
// (an ImageData of that rect's size): the mask in `color` at `fill` alpha, its edge at `edge`
// alpha (in `edgeColor` when given).
function renderRect(image, mask, { color, fill, edge, edgeColor }, [rx, ry, rw, rh]) {
  const { w, h, data } = mask;
  const pixels = new Uint32Array(image.data.buffer);
  const pack = ([r, g, b], a) => ((a << 24) | (b << 16) | (g << 8) | r) >>> 0; // RGBA bytes, little-endian
  const inside = pack(rgbOf(color), fill);
  const border = pack(rgbOf(edgeColor ?? color), edge);
  for (let y = ry; y < ry + rh; y++) {
    const row = y * w;
    const out = (y - ry) * rw - rx;
    const edgeRow = y === 0 || y === h - 1;
    for (let x = rx; x < rx + rw; x++) {
      const i = row + x;
      if (!data[i]) continue;
      pixels[out + x] = edgeRow || x === 0 || x === w - 1 || !data[i - 1] || !data[i + 1] || !data[i - w] || !data[i + w] ? border : inside;
    }
  }
}

// A mask's sprite: a canvas of its box.
function sprite(mask, style) {
  const { w, h } = mask;
  const canvas = document.createElement('canvas');
  canvas.width = Math.max(1, w);
  canvas.height = Math.max(1, h);
  if (!w || !h) return canvas;
  const image = new ImageData(w, h);
  renderRect(image, mask, style, [0, 0, w, h]);
  canvas.getContext('2d').putImageData(image, 0, 0);
  return canvas;
}

const SELECTED = (color) => ({ color, fill: 150, edge: 255, edgeColor: '#ffffff' });

// Sprites are kept within a budget of pixels (a photo-sized region's is 12 megapixels), the
// least recently used dropped first.
const SPRITE_BUDGET = 48e6;
let spritePixels = 0;

function dropSprite(key) {
  const found = sprites.get(key);
  if (!found) return;
  spritePixels -= found.width * found.height;
  sprites.delete(key);
}

function spriteFor(key, mask, style) {
  let found = sprites.get(key);
  if (found) {
    sprites.delete(key);
  } else {
    found = sprite(mask, style);
    spritePixels += found.width * found.height;
  }
  sprites.set(key, found);
  while (spritePixels > SPRITE_BUDGET && sprites.size > 1) dropSprite(sprites.keys().next().value);
  return found;
}

const place = (c, image, mask) => {
  const s = view.scale;
  c.drawImage(image, mask.x * s, mask.y * s, mask.w * s, mask.h * s);
};

/**
 * Draws the instances: [{ instance, mask }], each in its class's colour (`colorOf(classId)`);
 * hidden ones are skipped, and `skip` (the one a stroke is painting); the selected one is
 * brighter with a white edge.
 */
export function drawInstances(entries, { colorOf, selected, skip = null }) {
  if (!view) return;
  const c = ctx.instances;
  c.clearRect(0, 0, c.canvas.width, c.canvas.height);
  const used = new Set();
  for (const { instance, mask } of entries) {
    if (instance.hidden || instance.id === skip) continue;
    const color = colorOf(instance.classId);
    const isSelected = instance.id === selected;
    const style = isSelected ? SELECTED(color) : { color, fill: 105, edge: 230 };
    const key = `instance|${instance.id}|${instance.counts}|${color}|${isSelected}`;
    used.add(key);
    place(c, spriteFor(key, mask, style), mask);
  }
  // Sprites of masks no longer drawn (edited, deleted, deselected) go at once.
  for (const key of [...sprites.keys()]) if (key.startsWith('instance|') && !used.has(key)) dropSprite(key);
}

// Draws the stroke's sprite: all of it, or only around `rect` [x, y, w, h] (image pixels) — the
// canvas rect is whole pixels and the sprite's matching part is drawn into it, so a stroke on a
// photo-sized mask redraws only what the brush touched.
function drawLive(rect = null) {
  const c = ctx.stroke;
  if (!rect || !live) {
    c.clearRect(0, 0, c.canvas.width, c.canvas.height);
    if (live) place(c, live.sprite, live.mask);
    return;
  }
  const s = view.scale;
  const x0 = Math.max(0, Math.floor(rect[0] * s) - 1);
  const y0 = Math.max(0, Math.floor(rect[1] * s) - 1);
  const x1 = Math.min(c.canvas.width, Math.ceil((rect[0] + rect[2]) * s) + 1);
  const y1 = Math.min(c.canvas.height, Math.ceil((rect[1] + rect[3]) * s) + 1);
  if (x1 <= x0 || y1 <= y0) return;
  c.clearRect(x0, y0, x1 - x0, y1 - y0);
  // The browser clips a source rect that leaves the sprite, and the destination with it.
  c.drawImage(live.sprite, x0 / s - live.mask.x, y0 / s - live.mask.y, (x1 - x0) / s, (y1 - y0) / s, x0, y0, x1 - x0, y1 - y0);
}

/** A brush stroke starts on `mask` (painted in place as it goes: see strokeChanged), in `color`. */
export function beginStroke(mask, color) {
  if (!view) return;
  const style = SELECTED(color);
  live = { mask, style, sprite: sprite(mask, style) };
  drawLive();
}

/**
 * The stroke's mask changed inside `dirty` [x, y, w, h] (image pixels), or is a new, bigger
 * mask: only that part of its sprite is drawn again.
 */
export function strokeChanged(mask, dirty) {
  if (!live) return;
  if (mask !== live.mask || live.sprite.width !== mask.w || live.sprite.height !== mask.h) {
    live.mask = mask;
    live.sprite = sprite(mask, live.style);
  } else {
    // One pixel more each side: the edge of the pixels around it may change too.
    const x = Math.max(0, dirty[0] - mask.x - 1);
    const y = Math.max(0, dirty[1] - mask.y - 1);
    const w = Math.min(mask.w, dirty[0] - mask.x + dirty[2] + 1) - x;
    const h = Math.min(mask.h, dirty[1] - mask.y + dirty[3] + 1) - y;
    if (w <= 0 || h <= 0) return;
    const image = new ImageData(w, h);
    renderRect(image, mask, live.style, [x, y, w, h]);
    if (view.scale === 1) {
      // Canvas pixels are image pixels: straight onto the stroke layer (the sprite, rebuilt
      // whenever the mask is, is not needed again for this mask).
      ctx.stroke.putImageData(image, mask.x + x, mask.y + y);
      return;
    }
    live.sprite.getContext('2d').putImageData(image, x, y);
    drawLive([mask.x + x, mask.y + y, w, h]);
    return;
  }
  drawLive();
}

export function endStroke() {
  live = null;
  drawLive();
}

function clearPreview() {
  const c = ctx.preview;
  if (previewRect) {
    const [x, y, w, h] = previewRect;
    c.clearRect(x - 2, y - 2, w + 4, h + 4);
  }
  previewRect = null;
}

function grow(rect) {
  if (!previewRect) previewRect = rect;
  else {
    const x = Math.min(previewRect[0], rect[0]);
    const y = Math.min(previewRect[1], rect[1]);
    previewRect = [x, y, Math.max(previewRect[0] + previewRect[2], rect[0] + rect[2]) - x, Math.max(previewRect[1] + previewRect[3], rect[1] + rect[3]) - y];
  }
}

/**
 * The preview layer: `region` { key, mask, color, mode: 'add'|'merge'|'cut' } (the region the
 * pointer is over), `box` [x0, y0, x1, y1], `brush` { x, y, radius, erase } — all in original
 * pixels; each optional. Only the previous preview's area is cleared.
 */
export function drawPreview({ region, box, brush } = {}) {
  if (!view) return;
  clearPreview();
  const c = ctx.preview;
  const s = view.scale;
  if (region) {
    const style = {
      add: { ...SELECTED(region.color), fill: 120 },
      merge: { ...SELECTED(region.color), fill: 150 },
      cut: { color: '#ff4d4d', fill: 120, edge: 255 },
      select: { ...SELECTED(region.color), fill: 40 }, // an instance under the pointer: its outline
    }[region.mode];
    const image = spriteFor(`region|${region.key}|${region.color}|${region.mode}`, region.mask, style);
    place(c, image, region.mask);
    grow([region.mask.x * s, region.mask.y * s, region.mask.w * s + 1, region.mask.h * s + 1]);
  }
  const line = Math.max(1, 2 / displayScale());
  if (box) {
    const [x0, y0, x1, y1] = box;
    c.save();
    c.lineWidth = line;
    c.strokeStyle = '#22d3ee';
    c.setLineDash([6 * line, 4 * line]);
    c.fillStyle = 'rgba(34, 211, 238, 0.08)';
    c.fillRect(x0 * s, y0 * s, (x1 - x0) * s, (y1 - y0) * s);
    c.strokeRect(x0 * s, y0 * s, (x1 - x0) * s, (y1 - y0) * s);
    c.restore();
    grow([x0 * s - line, y0 * s - line, (x1 - x0) * s + 2 * line, (y1 - y0) * s + 2 * line]);
  }
  if (brush) {
    const r = brush.radius * s;
    c.save();
    c.lineWidth = line;
    c.strokeStyle = brush.erase ? '#ff6b6b' : '#ffffff';
    c.beginPath();
    c.arc(brush.x * s, brush.y * s, r, 0, Math.PI * 2);
    c.stroke();
    c.restore();
    grow([brush.x * s - r - line, brush.y * s - r - line, 2 * (r + line), 2 * (r + line)]);
  }
}

/** Canvas pixels per CSS pixel on screen. */
function displayScale() {
  const rect = el.previewCanvas.getBoundingClientRect();
  return rect.width ? rect.width / el.previewCanvas.width : 1;
}

/** Makes a region's preview sprite ahead of the hover (large regions, in idle time). */
export function warmRegion(region) {
  if (view) spriteFor(`region|${region.key}|${region.color}|add`, region.mask, { ...SELECTED(region.color), fill: 120 });
}

/** Forgets the sprites of regions (the class mask changed). */
export function forgetRegions() {
  for (const key of [...sprites.keys()]) if (key.startsWith('region|')) dropSprite(key);
}

// ---- Zoom and pan ----

export const currentZoom = () => zoom.scale;

// Keeps the zoomed stage filling the viewer (the drop zone, less its padding) where it is larger,
// centred where it is smaller, and applies it.
function applyZoom() {
  const pad = 10;
  const fit = (offset, size, room, shift) => {
    const scaled = size * zoom.scale;
    if (scaled <= room - 2 * pad) return (room - scaled) / 2 - offset;
    return Math.min(pad - offset, Math.max(room - pad - offset - scaled, shift));
  };
  if (zoom.scale !== 1) {
    zoom.x = fit(el.stage.offsetLeft, el.stage.offsetWidth, el.dropZone.clientWidth, zoom.x);
    zoom.y = fit(el.stage.offsetTop, el.stage.offsetHeight, el.dropZone.clientHeight, zoom.y);
  }
  el.stage.style.transform = zoom.scale === 1 ? '' : `translate(${zoom.x}px, ${zoom.y}px) scale(${zoom.scale})`;
  el.dropZone.classList.toggle('zoomed', zoom.scale > 1);
}

/** Zooms by `factor` about the screen point (clientX, clientY) — the stage's centre by default. */
export function zoomBy(factor, clientX, clientY) {
  if (!view) return;
  const rect = el.stage.getBoundingClientRect();
  const cx = clientX ?? rect.left + rect.width / 2;
  const cy = clientY ?? rect.top + rect.height / 2;
  const next = Math.min(MAX_ZOOM, Math.max(1, zoom.scale * factor));
  // The stage point under (cx, cy) stays there: rect.left = base + x.
  const ux = (cx - rect.left) / zoom.scale;
  const uy = (cy - rect.top) / zoom.scale;
  zoom.x = cx - ux * next - (rect.left - zoom.x);
  zoom.y = cy - uy * next - (rect.top - zoom.y);
  zoom.scale = next;
  applyZoom();
}

export function zoomToFit() {
  zoom = { scale: 1, x: 0, y: 0 };
  applyZoom();
}

el.dropZone.addEventListener('wheel', (event) => {
  if (!view || el.stage.hidden) return;
  event.preventDefault();
  zoomBy(Math.exp(-event.deltaY * (event.deltaMode === 1 ? 0.05 : 0.0015)), event.clientX, event.clientY);
}, { passive: false });

// Panning: a middle drag, or a drag with Space held; it takes the pointer from the tools.
let spaceHeld = false;
let pan = null;
export function setSpaceHeld(held) {
  spaceHeld = held;
  el.stage.classList.toggle('can-pan', held && zoom.scale > 1);
}
el.stage.addEventListener('pointerdown', (event) => {
  if (!(event.button === 1 || (spaceHeld && event.button === 0)) || zoom.scale === 1) return;
  event.preventDefault();
  event.stopPropagation();
  el.stage.setPointerCapture(event.pointerId);
  pan = { x: event.clientX - zoom.x, y: event.clientY - zoom.y };
  el.stage.classList.add('panning');
}, { capture: true });
el.stage.addEventListener('pointermove', (event) => {
  if (!pan) return;
  event.stopPropagation();
  zoom.x = event.clientX - pan.x;
  zoom.y = event.clientY - pan.y;
  applyZoom();
}, { capture: true });
const endPan = (event) => {
  if (!pan) return;
  event.stopPropagation();
  pan = null;
  el.stage.classList.remove('panning');
};
el.stage.addEventListener('pointerup', endPan, { capture: true });
el.stage.addEventListener('pointercancel', endPan, { capture: true });

window.addEventListener('resize', layout);
// A message or notice above the workspace moves the stage down: fit it again.
new ResizeObserver(() => layout()).observe(el.message);
new ResizeObserver(() => layout()).observe(el.notice);
