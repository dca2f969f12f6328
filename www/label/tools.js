// What the pointer does on the image. The click tool: hovering previews the class region under
// the pointer (or the instance there); a click makes the region an instance (or selects the
// instance); Shift-click merges the region into the selected instance; Alt-click or a right
// click cuts it out. The box tool (or B held): a drag segments the box with the class's words
// mixed in, and the largest region inside it becomes an instance. Brush and eraser paint the
// selected instance (the brush starts one when none is selected). Owns the tool and the
// stroke or box in progress; every result is one undoable edit.
import { beginStroke, drawInstances, drawPreview, endStroke, imagePoint, strokeChanged, warmRegion } from './canvas.js';
import { el } from './dom.js';
import { shownImage } from './images.js';
import {
  areaOf, bboxOf, clipMask, copyMask, emptyMask, isEmpty, largestRegionIn, maskHas, overlapArea, paintSegment, regionMask, strokeBox,
  subtractMasks, trimMask, unionMasks, withRoom,
} from './mask.js';
import { boxRegions, currentRegions, regionAt, regionCrop, regionList } from './masks.js';
import { hint, reportError, setBusy } from './messages.js';
import { segmenter } from './model.js';
import { encodeMask } from './rle.js';
import { editor } from './state.js';

export const TOOLS = ['click', 'box', 'brush', 'eraser'];

let tool = 'click';
let held = null; // { previous tool, since, used } while B is held
let brushRadius = 10; // original pixels
let hover = null; // { x, y, shift, alt } the last pointer position over the image
let drag = null; // { kind: 'box'|'stroke', … }
const listeners = new Set();

export const currentTool = () => tool;
export const brushSize = () => Math.round(brushRadius * 2);

/** listener() when the tool or brush size changes. */
export function onTool(listener) {
  listeners.add(listener);
}

export function setTool(next) {
  if (!TOOLS.includes(next) || next === tool) return;
  tool = next;
  held = null;
  drag = null;
  updateToolUi();
  redrawPreview();
}

/** B pressed: the box tool while held; a short tap with no drag keeps it. */
export function holdBox() {
  if (held || tool === 'box') return;
  held = { previous: tool, since: performance.now(), used: false };
  tool = 'box';
  updateToolUi();
}

export function releaseBox() {
  if (!held) return;
  const { previous, since, used } = held;
  held = null;
  if (used || performance.now() - since > 300) {
    tool = previous;
    updateToolUi();
    redrawPreview();
  }
}

/** The brush's diameter in original pixels. */
export function setBrushSize(diameter) {
  const view = shownImage();
  const most = view ? Math.max(8, Math.round(Math.max(view.width, view.height) / 4)) : 400;
  brushRadius = Math.min(most, Math.max(1, Math.round(diameter))) / 2;
  el.brushSize.max = String(most);
  el.brushSize.value = String(brushSize());
  el.brushSizeValue.textContent = String(brushSize());
  redrawPreview();
}

export const scaleBrush = (factor) => setBrushSize(Math.max(brushSize() + (factor > 1 ? 1 : -1), brushSize() * factor));

/** A brush size to suit a new image (about 2 % of its longer side) when none was chosen. */
export function fitBrush(width, height) {
  if (!el.brushSize.dataset.chosen) setBrushSize(Math.max(4, Math.round(Math.max(width, height) / 50)));
}

function updateToolUi() {
  for (const button of el.tools) {
    const on = button.dataset.tool === tool;
    button.classList.toggle('on', on);
    button.setAttribute('aria-checked', String(on));
  }
  el.stage.dataset.tool = tool;
  el.stage.closest('.label-app').dataset.tool = tool;
  for (const listener of listeners) listener();
}

// ---- Drawing ----

const colorOf = (classId) => editor.project.classById(classId)?.color ?? '#9aa3ae';

/** Redraws the instances (less the one a stroke in progress paints). */
export function redrawInstances() {
  drawInstances(editor.currentInstances(), { colorOf, selected: editor.selected, skip: drag?.kind === 'stroke' ? drag.id : null });
}

/** The instance under original pixel (x, y), topmost first (visible ones only). */
function instanceAt(x, y) {
  const entries = editor.currentInstances();
  for (let i = entries.length - 1; i >= 0; i--) {
    if (!entries[i].instance.hidden && maskHas(entries[i].mask, x, y)) return entries[i];
  }
  return null;
}

/** What a click at the hover position would do: { kind, label?, entry? } or null. */
function target(point) {
  if (!point) return null;
  const mode = point.alt ? 'cut' : point.shift ? 'merge' : 'add';
  const label = regionAt(point.x, point.y);
  if (mode !== 'add') return editor.selected !== null && label ? { kind: mode, label } : null;
  const entry = instanceAt(point.x, point.y);
  if (entry) return { kind: 'select', entry };
  return label ? { kind: 'add', label } : null;
}

const regionKey = (label) => `${currentRegions()?.imageId}|${currentRegions()?.key}|${currentRegions()?.threshold}|${label}`;

/**
 * Prepares the previews of the largest regions (over 1 % of the image) while the page is idle,
 * so the first hover over a photo-sized region costs nothing.
 */
export function warmRegions() {
  const regions = currentRegions();
  const cls = editor.project.activeClass;
  if (!regions || !cls) return;
  const big = regionList().filter((r) => r.area > (regions.width * regions.height) / 100).sort((a, b) => b.area - a.area).slice(0, 4);
  const idle = window.requestIdleCallback ?? ((work) => setTimeout(work, 50));
  const next = () => {
    const region = big.shift();
    if (!region || currentRegions() !== regions) return;
    warmRegion({ key: regionKey(region.label), mask: regionCrop(region.label), color: cls.color });
    idle(next);
  };
  idle(next);
}

/** Redraws the preview layer for the pointer's last position. */
export function redrawPreview() {
  if (!shownImage()) return;
  const preview = {};
  if (drag?.kind === 'box') preview.box = drag.box;
  if (hover && (tool === 'brush' || tool === 'eraser')) preview.brush = { x: hover.x, y: hover.y, radius: brushRadius, erase: tool === 'eraser' };
  let info = '';
  if (hover && tool === 'click' && !drag) {
    const t = target(hover);
    const cls = editor.project.activeClass;
    if (t?.label) {
      const mask = regionCrop(t.label);
      preview.region = { key: regionKey(t.label), mask, color: cls?.color ?? '#ffffff', mode: t.kind };
      const verb = { add: 'Click: add', merge: 'Shift+click: merge', cut: 'Alt+click: cut' }[t.kind];
      info = `${verb} ${cls?.name ?? ''} region · ${currentRegions().areas[t.label].toLocaleString()} px`;
    } else if (t?.kind === 'select') {
      const { instance, mask } = t.entry;
      const name = editor.project.classById(instance.classId)?.name ?? '';
      if (instance.id !== editor.selected) {
        preview.region = { key: `instance|${instance.id}|${instance.counts}`, mask, color: colorOf(instance.classId), mode: 'select' };
      }
      info = instance.id === editor.selected
        ? `#${instance.id} ${name} · selected: Shift+click merges a region, Alt+click cuts one`
        : `#${instance.id} ${name} · click to select`;
    }
  } else if (tool === 'box') {
    info = 'Drag a box around one object';
  } else if (tool === 'brush' || tool === 'eraser') {
    info = `${tool === 'brush' ? 'Brush' : 'Eraser'} ${brushSize()} px · [ and ] to resize`;
  }
  el.hoverInfo.textContent = info;
  drawPreview(preview);
}

// ---- Edits ----

function commitMask(classId, mask, { id = null, label }) {
  const view = shownImage();
  const { project } = editor;
  if (!view) return null;
  if (isEmpty(mask)) {
    if (id !== null) return editor.commit(project.deleteInstances(view.id, [id], label));
    return null;
  }
  const fields = { counts: encodeMask(mask, view.width, view.height), bbox: bboxOf(mask), area: areaOf(mask) };
  if (id !== null) return editor.commit(project.updateInstance(view.id, id, fields, label));
  const edit = project.addInstances(view.id, [{ classId, ...fields }], label);
  return editor.commit(edit, { select: edit?.changes[0].id ?? null });
}

function needClass() {
  const cls = editor.project.activeClass;
  if (!cls) hint('Add a class first (under Classes): type what to label, e.g. “cat”.');
  return cls;
}

function clickAt(point) {
  const t = target(point);
  if (!t) {
    if (!point.shift && !point.alt) editor.select(null);
    else if (editor.selected === null) hint('Select an instance first (click it), then Shift+click to merge a region into it or Alt+click to cut one out.');
    return;
  }
  if (t.kind === 'select') {
    editor.select(t.entry.instance.id);
    return;
  }
  const region = regionCrop(t.label);
  if (t.kind === 'add') {
    const cls = needClass();
    if (cls) commitMask(cls.id, region, { label: `add a ${cls.name}` });
    return;
  }
  const selected = editor.selection();
  if (!selected) return;
  const mask = t.kind === 'merge' ? unionMasks(selected.mask, region) : subtractMasks(selected.mask, region);
  commitMask(selected.instance.classId, mask, { id: selected.instance.id, label: `${t.kind} into #${selected.instance.id}` });
}

/**
 * Accepts every region of the active class of at least `minArea` pixels that is not mostly
 * covered by an instance of the class already: one edit.
 */
export function acceptAll() {
  const view = shownImage();
  const cls = needClass();
  const regions = currentRegions();
  if (!view || !cls || !regions) return null;
  const { minArea } = editor.project.settings;
  const mine = editor.currentInstances().filter((e) => e.instance.classId === cls.id);
  const fresh = [];
  for (const { label, area } of regionList()) {
    if (area < minArea) continue;
    const mask = regionCrop(label);
    if (mine.some((e) => overlapArea(e.mask, mask) > area / 2)) continue;
    fresh.push({ classId: cls.id, counts: encodeMask(mask, view.width, view.height), bbox: bboxOf(mask), area });
  }
  if (!fresh.length) {
    hint(`No new ${cls.name} region of at least ${minArea} px: lower the threshold or the minimum area.`);
    return null;
  }
  return editor.commit(editor.project.addInstances(view.id, fresh, `accept ${fresh.length} ${cls.name} regions`), { select: null });
}

async function boxDone(dragged) {
  let box = dragged;
  const view = shownImage();
  const cls = needClass();
  if (!view || !cls) return;
  box = box.map(Math.round); // whole pixels: the box prompt and the clip agree
  const [x0, y0, x1, y1] = box;
  if (x1 - x0 < 3 || y1 - y0 < 3) return;
  if (!segmenter()) {
    hint('The model is not loaded yet: a box needs it.');
    return;
  }
  setBusy('box', true);
  try {
    const result = await boxRegions(cls, view.id, box, view.width, view.height);
    if (!result || shownImage()?.id !== view.id) return;
    const label = largestRegionIn(result.components, view.width, view.height, box);
    const mask = label ? clipMask(regionMask(result.components, view.width, label, Array.from(result.boxes.subarray(4 * label, 4 * label + 4))), box) : emptyMask();
    if (isEmpty(mask)) {
      hint(`No ${cls.name} found in that box at threshold ${cls.threshold.toFixed(2)}: draw it tighter, or lower the threshold.`);
      return;
    }
    commitMask(cls.id, mask, { label: `box a ${cls.name}` });
  } catch (error) {
    reportError(error);
  } finally {
    setBusy('box', false);
    redrawPreview();
  }
}

// Paints the stroke on to `to`: the brush grows the mask's box when it reaches its edge (with
// room to spare, so a stroke reallocates rarely). Returns the box it changed.
function paintTo(view, to) {
  const box = strokeBox(drag.last, to, brushRadius, view.width, view.height);
  if (drag.value) drag.mask = withRoom(drag.mask, box, view.width, view.height, Math.max(64, Math.ceil(brushRadius * 4)));
  const dirty = paintSegment(drag.mask, drag.last, to, brushRadius, drag.value);
  drag.last = to;
  return dirty;
}

// ---- Pointer ----

function pointOf(event) {
  const p = imagePoint(event);
  if (!p) return null;
  return { ...p, shift: event.shiftKey, alt: event.altKey || event.button === 2 };
}

const clampBox = ([ax, ay], [bx, by], { width, height }) => [
  Math.max(0, Math.min(ax, bx)), Math.max(0, Math.min(ay, by)), Math.min(width, Math.max(ax, bx)), Math.min(height, Math.max(ay, by)),
];

el.previewCanvas.addEventListener('pointerdown', (event) => {
  const view = shownImage();
  const point = pointOf(event);
  if (!view || !point || (event.button !== 0 && event.button !== 2)) return;
  event.preventDefault();
  el.previewCanvas.setPointerCapture(event.pointerId);
  if (tool === 'box') {
    if (held) held.used = true;
    drag = { kind: 'box', start: [point.x, point.y], box: [point.x, point.y, point.x, point.y] };
  } else if (tool === 'brush' || tool === 'eraser') {
    const selected = editor.selection();
    const erase = tool === 'eraser' || event.button === 2; // a right drag with the brush erases
    if (!selected && erase) {
      hint('Select an instance to erase from (click it with the Click tool, or in the list).');
      return;
    }
    const cls = selected ? editor.project.classById(selected.instance.classId) : needClass();
    if (!cls) return;
    const value = erase ? 0 : 1;
    // The stroke paints a copy in place, in a box with room to spare (grown when it runs out).
    drag = {
      kind: 'stroke', imageId: view.id, id: selected?.instance.id ?? null, classId: cls.id, value, last: [point.x, point.y],
      mask: copyMask(selected?.mask ?? emptyMask()),
    };
    paintTo(view, [point.x, point.y]);
    redrawInstances();
    beginStroke(drag.mask, cls.color);
  } else {
    drag = { kind: 'click', point };
  }
});

el.previewCanvas.addEventListener('pointermove', (event) => {
  const point = pointOf(event);
  hover = point;
  const view = shownImage();
  if (drag?.kind === 'box' && point && view) {
    drag.box = clampBox(drag.start, [point.x, point.y], view);
  } else if (drag?.kind === 'stroke' && point && view) {
    const before = drag.mask;
    const dirty = paintTo(view, [point.x, point.y]);
    strokeChanged(drag.mask, drag.mask === before ? dirty : null);
  }
  redrawPreview();
});

el.previewCanvas.addEventListener('pointerleave', () => {
  hover = null;
  if (!drag) redrawPreview();
});

el.previewCanvas.addEventListener('pointerup', (event) => {
  const current = drag;
  drag = null;
  if (!current) return;
  if (current.kind === 'box') {
    drawPreview({});
    boxDone(current.box);
  } else if (current.kind === 'stroke') {
    const label = current.value ? `brush #${current.id ?? 'new'}` : `erase from #${current.id}`;
    // (A stroke whose image was left during it is dropped: it belongs to no image shown.)
    if (shownImage()?.id === current.imageId) commitMask(current.classId, trimMask(current.mask), { id: current.id, label });
    endStroke();
    redrawInstances();
  } else {
    clickAt({ ...current.point, shift: event.shiftKey, alt: event.altKey || event.button === 2 });
  }
  redrawPreview();
});

el.previewCanvas.addEventListener('contextmenu', (event) => event.preventDefault());

/** The modifier keys changed: the hover preview shows what a click would do now. */
export function modifiersChanged(event) {
  if (!hover) return;
  hover = { ...hover, shift: event.shiftKey, alt: event.altKey };
  redrawPreview();
}

for (const button of el.tools) button.addEventListener('click', () => setTool(button.dataset.tool));
el.brushSize.addEventListener('input', () => {
  el.brushSize.dataset.chosen = 'true';
  setBrushSize(Number(el.brushSize.value));
});
updateToolUi();
