// The labelling page (label.html): restores the project saved in this browser, loads the model,
// and wires the parts together — each a module of www/label/ that owns its own state (see
// README, "Labelling in the browser"). Every edit is saved at once; the keyboard is one table
// (keys.js). Exposes a read-only view of the state as window.clipsegLabel, for tests and tools.
import { currentZoom, forgetRegions, layout, screenPoint, setSpaceHeld, zoomBy, zoomToFit } from './canvas.js';
import { activateIndex, renderClasses } from './classes.js';
import { el, h, typingIn } from './dom.js';
import { encodeCounts, modelChanged } from './encoder.js';
import { exportInfo } from './exporter.js';
import { go, onImageShown, onModelImageReady, prepareModel, renderImages, resetImages, showCurrent, shownImage } from './images.js';
import { deleteSelected, likeSelected, relabelSelected, renderInstances, toggleHidden } from './instances.js';
import { KEY_HELP, MOUSE_HELP, actionFor, classIndexOf } from './keys.js';
import { currentRegions, forget, onRegions, pending, refresh } from './masks.js';
import { currentSaveState, reportError, setBusy } from './messages.js';
import { initModels, onModelReady, segmenter } from './model.js';
import { rleReady } from './rle.js';
import { claimProject } from './tabs.js';
import { editor, save, store } from './state.js';
import {
  acceptAll, brushSize, currentTool, fitBrush, holdBox, modifiersChanged, redrawInstances, redrawPreview, releaseBox, scaleBrush, setTool,
  warmRegions,
} from './tools.js';

// ---- What each change redraws ----

function updateHistoryUi() {
  const { history } = editor;
  el.undoButton.disabled = !history.canUndo;
  el.redoButton.disabled = !history.canRedo;
  el.undoButton.title = history.undoEdit ? `Undo ${history.undoEdit.label} (Ctrl+Z)` : 'Nothing to undo';
  el.redoButton.title = history.redoEdit ? `Redo ${history.redoEdit.label} (Ctrl+Shift+Z)` : 'Nothing to redo';
}

function updateMaskUi() {
  const { project } = editor;
  const cls = project.activeClass;
  const regions = currentRegions();
  let text;
  if (!cls) text = 'Add a class to see where it is.';
  else if (!project.currentImage) text = 'Add photos to start.';
  else if (!segmenter()) text = 'Waiting for the model…';
  else if (pending() && (!regions || regions.classId !== cls.id)) text = `Finding ${cls.name}…`;
  else if (regions) text = `${cls.name}: ${regions.count} region${regions.count === 1 ? '' : 's'} at ${regions.threshold.toFixed(2)} — hover to preview, click to add.`;
  else text = `${cls.name}: not computed yet.`;
  el.maskState.textContent = text;
  el.acceptAll.disabled = !regions?.count;
}

editor.on((what) => {
  if (what.replaced) {
    resetImages();
    forget();
  }
  if (what.current || what.replaced) {
    showCurrent();
  } else if (what.images) {
    // An edit redraws the rows of the images it touched; anything else, the whole list.
    renderImages(what.edit ? [...new Set(what.edit.changes.map((c) => c.imageId).filter((id) => id !== undefined))] : null);
  }
  if (what.classes || what.images || what.replaced) renderClasses();
  if (what.images || what.selection || what.current || what.classes) renderInstances();
  if (what.history || what.replaced) updateHistoryUi();
  if (what.images || what.selection || what.classes || what.current) redrawInstances();
  if (what.classes || what.current || what.active) refresh();
  updateMaskUi();
  el.exportButton.disabled = !editor.project.images.length;
  if (!what.threshold && !what.classFields) save();
});

onImageShown((id) => {
  const view = shownImage();
  if (view?.id !== id) return;
  fitBrush(view.width, view.height);
  redrawInstances();
  redrawPreview();
  renderInstances();
});
onModelImageReady(() => refresh());
let shownRegions = null;
onRegions((regions, busy) => {
  if (regions !== shownRegions) forgetRegions();
  shownRegions = regions;
  redrawPreview();
  updateMaskUi();
  if (regions && !busy) warmRegions();
});
onModelReady(() => {
  modelChanged();
  forget();
  updateMaskUi();
  prepareModel();
});

// ---- Keyboard ----

const ACTIONS = {
  undo: () => editor.undo(),
  redo: () => editor.redo(),
  next: () => go(1),
  previous: () => go(-1),
  done: () => {
    const image = editor.project.currentImage;
    if (image) editor.commit(editor.project.setStatus(image.id, image.status === 'done' ? (image.instances.length ? 'progress' : 'new') : 'done'));
  },
  'accept-all': () => acceptAll(),
  'tool-click': () => setTool('click'),
  'tool-brush': () => setTool('brush'),
  'tool-eraser': () => setTool('eraser'),
  smaller: () => scaleBrush(1 / 1.25),
  bigger: () => scaleBrush(1.25),
  like: () => likeSelected(),
  relabel: () => relabelSelected(),
  hide: () => toggleHidden(),
  delete: () => deleteSelected(),
  deselect: () => editor.select(null),
  'zoom-in': () => zoomBy(1.5),
  'zoom-out': () => zoomBy(1 / 1.5),
  'zoom-fit': () => zoomToFit(),
};

document.addEventListener('keydown', (event) => {
  if (el.app.inert) return; // paused while another tab edits the project (tabs.js)
  modifiersChanged(event);
  if (typingIn(event.target) && event.key !== 'Escape') return;
  if (event.key === ' ' && !event.target.closest?.('button, a, summary, input[type="checkbox"]')) {
    setSpaceHeld(true); // Space+drag pans
    event.preventDefault();
    return;
  }
  // Keys a focused control uses itself: Enter on a button, arrows on a slider.
  if (event.key === 'Enter' && event.target.closest?.('button, a, summary, label')) return;
  if (/^(Arrow|Page|Home|End)/.test(event.key) && event.target.matches?.('input[type="range"]')) return;
  const action = actionFor(event);
  if (!action) return;
  if (action === 'class') activateIndex(classIndexOf(event));
  else if (action === 'tool-box') {
    if (!event.repeat) holdBox();
  } else if (action === 'deselect' && event.target.closest?.('input, select, textarea, button')) {
    event.target.blur(); // back to the page's keys (a focused slider keeps the arrows)
  } else ACTIONS[action]();
  event.preventDefault();
});
document.addEventListener('keyup', (event) => {
  modifiersChanged(event);
  if (event.key === ' ') setSpaceHeld(false);
  if (event.key.toLowerCase() === 'b') releaseBox();
});
window.addEventListener('blur', () => {
  releaseBox();
  setSpaceHeld(false);
});

el.undoButton.addEventListener('click', () => editor.undo());
el.redoButton.addEventListener('click', () => editor.redo());
el.doneButton.addEventListener('click', ACTIONS.done);
el.acceptAll.addEventListener('click', () => acceptAll());

el.keyHelp.replaceChildren(...[...KEY_HELP, ...MOUSE_HELP].map(([keys, what]) => h('span', { className: 'key' },
  ...keys.split(' / ').flatMap((k, i) => [i ? ' / ' : '', h('kbd', {}, k)]), ` ${what}`)));

// Warn before closing while a change is not saved.
window.addEventListener('beforeunload', (event) => {
  if (currentSaveState().state !== 'saved') event.preventDefault();
});

// ---- The read-only view for tests and tools ----

const plain = (value) => JSON.parse(JSON.stringify(value));
window.clipsegLabel = Object.freeze({
  get segmenter() { return segmenter(); },
  state: Object.freeze({
    get classes() { return plain(editor.project.classes); },
    get activeClassId() { return editor.project.activeClassId; },
    get images() { return plain(editor.project.images); },
    get currentImageId() { return editor.project.currentImageId; },
    get selected() { return editor.selected; },
    get tool() { return currentTool(); },
    get brushSize() { return brushSize(); },
    get zoom() { return currentZoom(); },
    get settings() { return plain(editor.project.settings); },
    get history() {
      const { history } = editor;
      return { length: history.entries.length, cursor: history.cursor, canUndo: history.canUndo, canRedo: history.canRedo, undo: history.undoEdit?.label ?? null };
    },
    get save() { return currentSaveState(); },
    /** Background encodes, and images made the model's current one already encoded or not. */
    get encodes() { return encodeCounts(); },
    get shown() { const v = shownImage(); return v && { id: v.id, width: v.width, height: v.height }; },
    /** The active class's regions on the current image: { imageId, classId, threshold, count, areas, boxes } (no pixels). */
    get regions() {
      const r = currentRegions();
      return r && { imageId: r.imageId, classId: r.classId, threshold: r.threshold, count: r.count, areas: Array.from(r.areas), boxes: Array.from(r.boxes) };
    },
    get lastExport() { return exportInfo() && plain(exportInfo()); },
  }),
  /** A pixel of region `label` (original pixels), or null. */
  pointIn(label) {
    const r = currentRegions();
    if (!r || !label) return null;
    const [x, y, w, hh] = r.boxes.subarray(4 * label, 4 * label + 4);
    // The region's pixel nearest its box's centre.
    let best = null;
    for (let yy = y; yy < y + hh; yy++) {
      for (let xx = x; xx < x + w; xx++) {
        if (r.components[yy * r.width + xx] !== label) continue;
        const d = (xx - x - w / 2) ** 2 + (yy - y - hh / 2) ** 2;
        if (!best || d < best.d) best = { x: xx + 0.5, y: yy + 0.5, d };
      }
    }
    return best && { x: best.x, y: best.y };
  },
  /** Where original pixel (x, y) of the shown image is on the screen. */
  screenPoint: (x, y) => screenPoint(x, y),
});

// ---- Start ----

async function start() {
  setBusy('restoring', true);
  if ('serviceWorker' in navigator) navigator.serviceWorker.register('sw.js').catch((error) => console.warn('service worker:', error));
  try {
    await rleReady(); // the masks of the restored instances are decoded with it
    const { project, history } = await store.restore(editor);
    editor.replace(project, history);
  } catch (error) {
    reportError(error);
  } finally {
    setBusy('restoring', false);
    document.body.dataset.restored = 'true';
  }
  store.persist();
  const oneTab = await claimProject({
    save: () => store.save(),
    reload: async () => {
      const { project, history } = await store.restore(editor);
      editor.replace(project, history);
    },
    pause: (text, takeOver) => {
      el.app.inert = true;
      el.pausedText.textContent = text;
      el.takeOver.onclick = takeOver;
      el.paused.hidden = false;
      document.body.dataset.paused = 'true';
    },
    resume: () => {
      el.app.inert = false;
      el.paused.hidden = true;
      document.body.dataset.paused = 'false';
    },
  });
  if (!oneTab) store.watchTabs();
  updateHistoryUi();
  layout();
  await initModels().catch(reportError);
}

start();
