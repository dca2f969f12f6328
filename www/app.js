// The page: picks and loads a model, takes an image (file, drop, paste), keeps a list of text
// prompts and a box prompt, runs only what changed through the Segmenter (the model lives in a
// worker), and draws the results over the image. Downloads are built in a second worker.
import { Segmenter, SegmenterError, listModels, MODEL_SIZE, MAX_SIDE } from './clipseg.js';
import { Plane, renderOverlay, rgbOf } from './overlay.js';

const PALETTE = ['#ff5a5f', '#3d9bff', '#ffc83d', '#2fd07f', '#b57bff', '#ff8a3d', '#ff5fc8', '#8bd450'];
const BOX_COLOR = '#22d3ee';
const DEBOUNCE_MS = 300;
const RESULT_CACHE_LIMIT = 48; // logits kept per image: 48 × 484 KiB
const GET_MODEL = [
  'Download ', ['code', 'CIDAS/clipseg-rd64-refined'], ' from the Hugging Face hub and run ',
  ['code', 'clipseg convert --from <dir> --to models/clipseg-rd64-refined'], ', then rebuild (see README).',
];

const $ = (selector) => document.querySelector(selector);
const el = {
  modelForm: $('#model-form'), modelSelect: $('#model-select'), backendSelect: $('#backend-select'),
  loadButton: $('#load-button'), progress: $('#progress'), progressText: $('#progress-text'),
  message: $('#message'), notice: $('#notice'), status: $('#status'), activity: $('#activity'),
  dropZone: $('#drop-zone'), stage: $('#stage'), placeholder: $('#placeholder'),
  imageCanvas: $('#image-canvas'), overlayCanvas: $('#overlay-canvas'), boxRect: $('#box-rect'),
  fileInput: $('#file-input'), imageInfo: $('#image-info'),
  promptInput: $('#prompt-input'), addPrompt: $('#add-prompt'), promptHint: $('#prompt-hint'),
  promptList: $('#prompt-list'),
  boxToggle: $('#box-toggle'), boxInfo: $('#box-info'), clearBox: $('#clear-box'),
  exampleDetails: $('#example-details'), exampleInput: $('#example-input'), clearExample: $('#clear-example'),
  exampleStage: $('#example-stage'), exampleCanvas: $('#example-canvas'), exampleBoxRect: $('#example-box-rect'),
  mix: $('#mix'), mixValue: $('#mix-value'),
  viewMode: $('#view-mode'), threshold: $('#threshold'), thresholdValue: $('#threshold-value'),
  opacity: $('#opacity'), opacityValue: $('#opacity-value'),
  downloadMask: $('#download-mask'), downloadComposite: $('#download-composite'),
};
document.querySelector('.box-swatch').style.background = BOX_COLOR;

// ---------------------------------------------------------------------------------------------
// State

const state = {
  models: [],
  model: null, // the manifest entry loaded (or loading)
  loadedBackend: null, // the backend asked for when it loaded: 'auto', 'webgpu' or 'cpu'
  loading: false,
  encoding: false,
  segmenting: false,
  decoding: 0, // images being opened (decoded in the page) right now
  /** The current image: { file, name, bitmap (≤ MAX_SIDE), width, height, originalWidth, originalHeight, scaled, encodedBy }. */
  image: null,
  /** The box prompt on the image, original pixels [x0, y0, x1, y1], or null. */
  box: null,
  /** The example image of the visual prompt: { file, name, bitmap, width, height, box, id }, or null. */
  example: null,
  /** Text prompts: { id, text (as typed), query (the debounced, trimmed text that runs), enabled, color }. */
  prompts: [],
  boxEnabled: true,
  mix: 0,
  view: 'mask',
  threshold: 0.5,
  opacity: 0.5,
  /** The canvas' size in CSS pixels and in device pixels. */
  display: { width: 0, height: 0, pixelWidth: 0, pixelHeight: 0 },
  timings: { encode_ms: null, decode_ms: null },
  halted: false, // the last run failed: wait for the user to change something
};
let segmenter = null;
let nextPromptId = 0;
let nextExampleId = 0;
let pendingEdits = 0; // prompt edits waiting out the debounce
let mixTimer = null; // a mix change waiting out the debounce
const results = new Map(); // key → Float32Array logits (352 × 352) of the current image and model
const shown = new Map(); // prompt id → the logits last drawn for it (kept while a new run is due)
let shownBox = null;

const lastResult = { prompts: [], logits: {}, box: null };
window.clipsegApp = {
  get segmenter() { return segmenter; },
  get lastResult() { return lastResult; },
  state,
};

// ---------------------------------------------------------------------------------------------
// Messages, notices, status

// `model`: no usable model (until one loads); `action`: the last thing that went wrong, from the
// user's input ('user') or a model run ('run': cleared when a later run succeeds).
const problems = { model: null, action: null, source: null };

function fill(node, parts) {
  node.replaceChildren(...parts.map((part) => {
    if (typeof part === 'string') return document.createTextNode(part);
    const child = document.createElement(part[0]);
    child.textContent = part[1];
    return child;
  }));
}

function showProblems() {
  const parts = problems.action ?? problems.model;
  if (parts) {
    fill(el.message, parts);
    // The glyph comes from CSS, so the message's text stays just the message.
    const dismiss = Object.assign(document.createElement('button'), { type: 'button', className: 'dismiss', title: 'Dismiss' });
    dismiss.setAttribute('aria-label', 'Dismiss this message');
    el.message.append(dismiss);
  } else {
    el.message.replaceChildren();
  }
  el.message.classList.toggle('shown', Boolean(parts));
  queueLayout();
}

/** A problem with something the user just did (kept until the next action). */
function reportError(error, source = 'user') {
  if (error instanceof Error) console.warn(error);
  const text = error instanceof Error ? error.message : String(error);
  problems.action = error?.model ? modelProblem(`The model is missing, partial or corrupt: ${text}`) : [sentence(text)];
  problems.source = source;
  showProblems();
}

function clearError(source) {
  if (!problems.action || (source && problems.source !== source)) return;
  problems.action = null;
  showProblems();
}

function sentence(text) {
  const trimmed = String(text).trim();
  const capital = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

function modelProblem(detail) {
  return [`${sentence(detail)} `, ...GET_MODEL];
}

const notices = new Map();
function setNotice(key, text) {
  if (text) notices.set(key, text);
  else notices.delete(key);
  el.notice.replaceChildren(...[...notices.values()].map((line) => Object.assign(document.createElement('p'), { textContent: line })));
  el.notice.classList.toggle('shown', notices.size > 0);
  queueLayout();
}

function updateStatus() {
  const parts = [];
  if (segmenter) {
    parts.push(segmenter.backend === 'webgpu' ? `WebGPU · ${segmenter.adapter}` : 'CPU (wasm)');
    if (state.model) parts.push(state.model.id);
  } else if (state.loading) {
    parts.push('Loading the model…');
  } else {
    parts.push('No model loaded');
  }
  const { encode_ms: encode, decode_ms: decode } = state.timings;
  if (encode != null) parts.push(`encode ${Math.round(encode)} ms`);
  if (decode != null) parts.push(`decode ${Math.round(decode)} ms`);
  el.status.textContent = parts.join(' · ');
}

function updateBusy() {
  const busy = state.loading || state.encoding || state.segmenting || state.decoding > 0
    || pendingEdits > 0 || mixTimer !== null;
  document.body.dataset.busy = String(busy);
  el.activity.textContent = state.loading ? 'Loading model…'
    : state.encoding ? 'Encoding image…'
      : state.segmenting ? 'Segmenting…' : '';
  el.activity.classList.toggle('working', Boolean(el.activity.textContent));
  updatePromptRows();
}

const megabytes = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;

// ---------------------------------------------------------------------------------------------
// Model

async function init() {
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('sw.js').catch((error) => console.warn('service worker:', error));
  }
  state.models = await listModels('models/manifest.json').catch(() => []);
  for (const model of state.models) {
    const option = document.createElement('option');
    option.value = model.id;
    const size = model.bytes ? ` · ${megabytes(model.bytes)}` : '';
    option.textContent = `${model.id}${model.dtype ? ` (${model.dtype})` : ''}${size}`;
    el.modelSelect.append(option);
  }
  if (!state.models.length) {
    const option = document.createElement('option');
    option.textContent = 'No model available';
    option.value = '';
    el.modelSelect.append(option);
    el.modelSelect.disabled = true;
    el.loadButton.disabled = true;
    problems.model = ['No model is installed on this site (models/manifest.json lists none). ', ...GET_MODEL];
    showProblems();
    el.progressText.textContent = 'no model';
    updateStatus();
    updateBusy();
    return;
  }
  // A link can name the model and backend (?model=ID&backend=auto|webgpu|cpu); otherwise the
  // last ones used on this device.
  const query = new URLSearchParams(location.search);
  const wanted = query.get('model') ?? safeStorage('get', 'clipseg.model');
  const backend = query.get('backend') ?? safeStorage('get', 'clipseg.backend');
  if (['auto', 'webgpu', 'cpu'].includes(backend)) el.backendSelect.value = backend;
  if (state.models.some((m) => m.id === wanted)) {
    el.modelSelect.value = wanted;
  } else if (query.has('model')) {
    problems.model = modelProblem(`The model “${wanted}” is not on this site (models/manifest.json does not list it).`);
    showProblems();
    el.progressText.textContent = 'not loaded';
    updateStatus();
    updateBusy();
    return;
  }
  await loadModel();
}

function safeStorage(op, key, value) {
  try {
    return op === 'get' ? localStorage.getItem(key) : localStorage.setItem(key, value);
  } catch {
    return null;
  }
}

async function loadModel() {
  const model = state.models.find((m) => m.id === el.modelSelect.value);
  if (!model) return;
  const backend = el.backendSelect.value;
  safeStorage('set', 'clipseg.model', model.id);
  safeStorage('set', 'clipseg.backend', backend);
  // One model in memory at a time: the old one goes first.
  const old = segmenter;
  segmenter = null;
  old?.dispose();
  results.clear();
  document.body.dataset.ready = 'false';
  state.model = model;
  state.loading = true;
  state.timings = { encode_ms: null, decode_ms: null };
  el.loadButton.disabled = true;
  el.progress.max = model.bytes || 1;
  el.progress.value = 0;
  el.progressText.textContent = model.bytes ? `0.0 MB of ${megabytes(model.bytes)}` : 'starting…';
  problems.model = null;
  showProblems();
  setNotice('device', null);
  updateStatus();
  updateBusy();
  const token = (loadModel.token = (loadModel.token ?? 0) + 1);
  try {
    const loaded = await Segmenter.load({
      modelUrl: model.url,
      tokenizerUrl: model.tokenizer,
      backend,
      onProgress: ({ loaded: done, total }) => {
        if (token !== loadModel.token) return;
        // The worker's total grows file by file; the manifest knows the whole from the start.
        const whole = Math.max(total, model.bytes || 0, 1);
        el.progress.max = whole;
        el.progress.value = done;
        el.progressText.textContent = `${megabytes(done)} of ${megabytes(whole)}`;
      },
      onEvent: onModelEvent,
    });
    if (token !== loadModel.token) {
      loaded.dispose();
      return;
    }
    segmenter = loaded;
    state.loadedBackend = backend;
    el.progress.value = el.progress.max;
    el.progressText.textContent = `${megabytes(model.bytes || el.progress.max)} · ${loaded.cached ? 'from cache' : 'downloaded'}`;
    document.body.dataset.ready = 'true';
    if (state.image) state.image.failed = false;
    state.halted = false;
  } catch (error) {
    if (token !== loadModel.token) return;
    console.warn(error);
    el.progressText.textContent = 'not loaded';
    const text = error?.message ?? String(error);
    problems.model = error?.model
      ? modelProblem(`The model “${model.id}” is missing, partial or corrupt: ${text.replace(/^the model at \S+ cannot be used: /, '')}`)
      : [`The model could not be loaded: ${sentence(text)}`, ...(backend === 'webgpu' ? [' Choose Auto or CPU and load again.'] : [])];
    showProblems();
  } finally {
    if (token === loadModel.token) {
      state.loading = false;
      el.loadButton.disabled = false;
      selectionChanged();
      updateStatus();
      updateBusy();
    }
  }
  pump();
}

function onModelEvent({ type, message }) {
  if (type === 'device-lost') {
    setNotice('device', `The WebGPU device was lost (${message}). Restarting the model; your image and prompts are kept…`);
  } else if (type === 'recovered') {
    setNotice('device', `Recovered: ${message}. Carrying on.`);
    updateStatus();
  }
}

// ---------------------------------------------------------------------------------------------
// Running the model: only what is missing for the current prompts, box and mix

function visualPrompt() {
  const example = state.example;
  if (example) {
    const box = example.box;
    return { key: `example ${example.id} ${box ? box.join(',') : 'whole'}`, visual: box ? { image: example.file, box } : { image: example.file }, box };
  }
  if (state.box) return { key: `image ${state.box.join(',')}`, visual: { box: state.box }, box: state.box };
  return null;
}

function textKey(text, vp = visualPrompt()) {
  return state.mix > 0 && vp ? `text ${text}\u0000mix ${state.mix} ${vp.key}` : `text ${text}`;
}

const queries = () => [...new Set(state.prompts.map((p) => p.query).filter(Boolean))];

function remember(key, logits) {
  results.delete(key);
  results.set(key, logits);
  if (results.size <= RESULT_CACHE_LIMIT) return;
  const vp = visualPrompt();
  const needed = new Set([...queries().map((q) => textKey(q, vp)), vp && `box ${vp.key}`]);
  for (const old of results.keys()) {
    if (results.size <= RESULT_CACHE_LIMIT) break;
    if (!needed.has(old)) results.delete(old);
  }
}

/** The next model call the page needs, or null when everything shown is up to date. */
function nextJob() {
  if (!segmenter || state.loading || state.halted || !state.image || state.image.failed) return null;
  const image = state.image;
  if (image.encodedBy !== segmenter) return { kind: 'encode', image };
  const vp = visualPrompt();
  const texts = queries().filter((q) => !results.has(textKey(q, vp)));
  const needBox = vp && !results.has(`box ${vp.key}`);
  const mixing = state.mix > 0 && vp;
  if (texts.length && mixing) {
    return { kind: 'segment', image, texts, keys: texts.map((q) => textKey(q, vp)), request: { prompts: texts, visual: vp.visual, mix: state.mix } };
  }
  if (texts.length || needBox) {
    const request = { prompts: texts };
    if (needBox) request.visual = vp.visual;
    const keys = texts.map((q) => textKey(q, vp));
    if (needBox) keys.push(`box ${vp.key}`);
    return { kind: 'segment', image, texts, keys, request };
  }
  return null;
}

let pumping = false;
async function pump() {
  if (pumping) return;
  pumping = true;
  try {
    for (let job = nextJob(); job; job = nextJob()) {
      const model = segmenter;
      if (job.kind === 'encode') await encode(job.image, model);
      else await segment(job, model);
    }
  } finally {
    pumping = false;
    updateBusy();
    refreshLastResult();
    scheduleRender();
  }
}

async function encode(image, model) {
  state.encoding = true;
  updateBusy();
  try {
    const info = await model.setImage(image.file);
    if (model !== segmenter) return;
    image.encodedBy = model;
    image.previous = null; // no way back needed any more
    if (image !== state.image) return;
    Object.assign(image, {
      width: info.width, height: info.height,
      originalWidth: info.originalWidth, originalHeight: info.originalHeight, scaled: info.scaled,
    });
    results.clear();
    state.timings.encode_ms = info.timings?.encode_ms ?? null;
    setNotice('scaled', info.scaled
      ? `Image is ${info.originalWidth}×${info.originalHeight}; working at ${info.width}×${info.height}.`
      : null);
    updateImageInfo();
    updateStatus();
  } catch (error) {
    if (model !== segmenter) return;
    reportError(error);
    image.failed = true;
    // Keep working on the previous image rather than on none.
    if (image === state.image && image.previous) {
      image.previous.encodedBy = null;
      setImageState(image.previous, { keepBox: image.previous.box, fromUser: false });
    }
  } finally {
    state.encoding = false;
    updateBusy();
  }
}

async function segment(job, model) {
  state.segmenting = true;
  updateBusy();
  try {
    const result = await model.segment(job.request);
    if (model !== segmenter || job.image !== state.image) return;
    const plane = MODEL_SIZE * MODEL_SIZE;
    job.keys.forEach((key, i) => remember(key, result.logits.slice(i * plane, (i + 1) * plane)));
    state.timings.decode_ms = result.timings?.total_ms ?? null;
    updateStatus();
    clearError('run');
  } catch (error) {
    if (model !== segmenter) return;
    reportError(error, 'run');
    state.halted = true; // until the user changes something
  } finally {
    state.segmenting = false;
    updateBusy();
    refreshLastResult();
    scheduleRender();
  }
}

/** Something the model depends on changed: run what is now missing. A user's change also
 * retires the last error message (it was about what they did before). */
function changed({ fromUser = true } = {}) {
  if (fromUser) clearError();
  state.halted = false;
  refreshLastResult();
  scheduleRender();
  updateBoxUi();
  pump();
}

/** The logits of the current prompts exactly as the API returned them (for tests and tools). */
function refreshLastResult() {
  const vp = visualPrompt();
  lastResult.prompts = queries().filter((q) => results.has(textKey(q, vp)));
  lastResult.logits = Object.fromEntries(lastResult.prompts.map((q) => [q, results.get(textKey(q, vp))]));
  const boxLogits = vp && results.get(`box ${vp.key}`);
  lastResult.box = boxLogits ? { logits: boxLogits, box: vp.box ? [...vp.box] : null } : null;
  lastResult.mix = state.mix > 0 && vp ? state.mix : 0;
}

// ---------------------------------------------------------------------------------------------
// Image

async function decodeImage(file) {
  state.decoding++;
  updateBusy();
  try {
    return await decodeScaled(file);
  } finally {
    state.decoding--;
    updateBusy();
  }
}

async function decodeScaled(file) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    const kind = file.type && !file.type.startsWith('image/') ? ` (${file.type})` : '';
    throw new SegmenterError(`“${file.name || 'The pasted file'}”${kind} is not an image this browser can open. Try a PNG, JPEG or WebP file`);
  }
  const { width, height } = bitmap;
  if (!width || !height) throw new SegmenterError(`“${file.name}” has no pixels`);
  const scale = Math.min(1, MAX_SIDE / Math.max(width, height));
  if (scale === 1) return { bitmap, originalWidth: width, originalHeight: height, width, height };
  const w = Math.max(1, Math.round(width * scale));
  const h = Math.max(1, Math.round(height * scale));
  const scaled = await createImageBitmap(bitmap, { resizeWidth: w, resizeHeight: h, resizeQuality: 'high' });
  bitmap.close();
  return { bitmap: scaled, originalWidth: width, originalHeight: height, width: w, height: h };
}

async function openImage(file) {
  if (!file) return;
  clearError();
  let decoded;
  try {
    decoded = await decodeImage(file);
  } catch (error) {
    reportError(error);
    return;
  }
  const previous = state.image;
  if (previous) previous.box = state.box;
  const image = {
    file, name: file.name || 'pasted image', ...decoded,
    scaled: decoded.width !== decoded.originalWidth, encodedBy: null,
    previous: previous ? { ...previous, previous: null } : null,
  };
  setImageState(image, { keepBox: null });
}

function setImageState(image, { keepBox, fromUser = true }) {
  state.image = image;
  state.box = keepBox ?? null;
  state.timings.encode_ms = null;
  state.timings.decode_ms = null;
  results.clear();
  shown.clear();
  shownBox = null;
  setNotice('scaled', image.scaled
    ? `Image is ${image.originalWidth}×${image.originalHeight}; working at ${image.width}×${image.height}.`
    : null);
  el.stage.hidden = false;
  el.placeholder.hidden = true;
  el.dropZone.classList.remove('empty');
  el.downloadMask.disabled = false;
  el.downloadComposite.disabled = false;
  updateImageInfo();
  updateStatus();
  layout();
  changed({ fromUser });
}

function updateImageInfo() {
  const image = state.image;
  if (!image) return;
  el.imageInfo.textContent = `${image.name} · ${image.originalWidth}×${image.originalHeight}`;
  el.imageInfo.title = image.name;
}

// Runs `work` once on the next animation frame, however often it is asked for before then.
function oncePerFrame(work) {
  let queued = false;
  return () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => {
      queued = false;
      work();
    });
  };
}

const queueLayout = oncePerFrame(() => layout());

// The canvas fits the viewer's width and the window's height; its pixels are device pixels.
function layout() {
  const image = state.image;
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
  const d = state.display;
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

// ---------------------------------------------------------------------------------------------
// Overlay

let overlayImage = null;
const planes = new WeakMap(); // logits → their Plane at the display size
const scheduleRender = oncePerFrame(() => render());

/** The layers drawn now, bottom to top: [{ logits, color }]. Stale logits stay until new ones come. */
function visibleLayers() {
  const vp = visualPrompt();
  const layers = [];
  for (const prompt of state.prompts) {
    const fresh = prompt.query ? results.get(textKey(prompt.query, vp)) : null;
    if (fresh) shown.set(prompt.id, fresh);
    else if (!prompt.query) shown.delete(prompt.id);
    const logits = shown.get(prompt.id);
    if (prompt.enabled && logits) layers.push({ logits, color: prompt.color, name: prompt.query });
  }
  if (vp) {
    const fresh = results.get(`box ${vp.key}`);
    if (fresh) shownBox = fresh;
  } else {
    shownBox = null;
  }
  if (state.boxEnabled && shownBox) layers.push({ logits: shownBox, color: BOX_COLOR, name: 'box prompt' });
  return layers;
}

function render() {
  const d = state.display;
  const context = el.overlayCanvas.getContext('2d');
  if (!state.image || !d.pixelWidth) return;
  const layers = visibleLayers();
  const { pixelWidth: width, pixelHeight: height } = d;
  if (!overlayImage || overlayImage.width !== width || overlayImage.height !== height) {
    overlayImage = new ImageData(width, height);
  }
  const drawn = layers.map(({ logits, color }) => {
    let plane = planes.get(logits);
    if (!plane || plane.dstW !== width || plane.dstH !== height) {
      plane = new Plane(logits, MODEL_SIZE, MODEL_SIZE, width, height);
      planes.set(logits, plane);
    }
    return { resizer: plane, rgb: rgbOf(color) };
  });
  renderOverlay({
    layers: drawn, width, height, mode: state.view, threshold: state.threshold, opacity: state.opacity,
    out: overlayImage.data,
  });
  context.putImageData(overlayImage, 0, 0);
}

// ---------------------------------------------------------------------------------------------
// Prompts

function addPrompt() {
  const text = el.promptInput.value.trim();
  if (!text) {
    el.promptHint.textContent = 'Type a prompt first: empty prompts are not run.';
    reportError('The prompt is empty: type what to find, e.g. “a cat”. Empty prompts are never run.');
    el.promptInput.focus();
    return;
  }
  el.promptHint.textContent = '';
  const used = new Set(state.prompts.map((p) => p.color));
  const color = PALETTE.find((c) => !used.has(c)) ?? PALETTE[state.prompts.length % PALETTE.length];
  state.prompts.push({ id: nextPromptId++, text, query: text, enabled: true, color, timer: null });
  el.promptInput.value = '';
  buildPromptRows();
  changed();
}

function buildPromptRows() {
  const rows = state.prompts.map((prompt, index) => {
    const row = document.createElement('li');
    row.className = 'prompt';
    row.dataset.index = String(index);
    row.dataset.id = String(prompt.id);
    row.innerHTML = `
      <span class="swatch" aria-hidden="true"></span>
      <input type="checkbox" class="prompt-toggle">
      <div class="prompt-main">
        <input type="text" class="prompt-text" enterkeyhint="done">
        <span class="prompt-state"></span>
      </div>
      <button type="button" class="prompt-delete" title="Delete this prompt">×</button>`;
    row.querySelector('.swatch').style.background = prompt.color;
    const toggle = row.querySelector('.prompt-toggle');
    toggle.checked = prompt.enabled;
    toggle.setAttribute('aria-label', `Show “${prompt.text}”`);
    const input = row.querySelector('.prompt-text');
    input.value = prompt.text;
    input.setAttribute('aria-label', `Prompt ${index + 1}`);
    row.querySelector('.prompt-delete').setAttribute('aria-label', `Delete prompt ${index + 1}`);
    return row;
  });
  el.promptList.replaceChildren(...rows);
  updatePromptRows();
}

function promptOf(node) {
  const row = node.closest('li.prompt');
  return row && state.prompts.find((p) => String(p.id) === row.dataset.id);
}

function commitEdit(prompt) {
  if (prompt.timer === null) return;
  clearTimeout(prompt.timer);
  prompt.timer = null;
  pendingEdits--;
  prompt.query = prompt.text.trim();
  changed();
  if (!prompt.query) {
    const index = state.prompts.indexOf(prompt) + 1;
    reportError(`Prompt ${index} is empty: it is skipped until you type something.`);
  }
  updateBusy();
}

function updatePromptRows() {
  const vp = visualPrompt();
  for (const row of el.promptList.children) {
    const prompt = state.prompts.find((p) => String(p.id) === row.dataset.id);
    if (!prompt) continue;
    const stateNode = row.querySelector('.prompt-state');
    let text = '';
    let kind = '';
    if (!prompt.text.trim()) {
      text = 'Empty prompt: type something (it is not run).';
      kind = 'hint';
    } else if (prompt.timer !== null && state.image && segmenter) {
      text = 'waiting for you to stop typing…';
      kind = 'pending';
    } else if (prompt.query && !results.has(textKey(prompt.query, vp)) && segmenter && state.image && !state.halted) {
      text = 'running…';
      kind = 'pending';
    }
    stateNode.textContent = text;
    row.classList.toggle('empty', kind === 'hint');
    row.classList.toggle('pending', kind === 'pending');
    row.classList.toggle('off', !prompt.enabled);
  }
}

// ---------------------------------------------------------------------------------------------
// Box prompts (on the image, or on the example image)

function pointerBox({ canvas, rect, getSize, getBox, setBox, enabled }) {
  let drag = null;
  const surface = canvas.parentElement;
  const toPixels = (event) => {
    const bounds = canvas.getBoundingClientRect();
    const { width, height } = getSize();
    const fx = Math.min(1, Math.max(0, (event.clientX - bounds.left) / bounds.width));
    const fy = Math.min(1, Math.max(0, (event.clientY - bounds.top) / bounds.height));
    return { x: fx * width, y: fy * height, cssX: fx * bounds.width, cssY: fy * bounds.height };
  };
  const cancel = () => {
    drag = null;
    surface.classList.remove('drawing');
    showBox(rect, canvas, getSize(), getBox());
  };
  surface.addEventListener('pointerdown', (event) => {
    if (event.button !== 0 || !enabled()) return;
    event.preventDefault();
    try {
      surface.setPointerCapture(event.pointerId);
    } catch {
      // a synthetic pointer (scripts, tests) cannot be captured; moves still reach the surface
    }
    drag = { id: event.pointerId, from: toPixels(event) };
    drag.to = drag.from;
    surface.classList.add('drawing');
    showBox(rect, canvas, getSize(), boxOf(drag));
  });
  surface.addEventListener('pointermove', (event) => {
    if (!drag || event.pointerId !== drag.id) return;
    drag.to = toPixels(event);
    showBox(rect, canvas, getSize(), boxOf(drag));
  });
  surface.addEventListener('pointerup', (event) => {
    if (!drag || event.pointerId !== drag.id) return;
    drag.to = toPixels(event);
    const box = boxOf(drag);
    const cssWidth = Math.abs(drag.to.cssX - drag.from.cssX);
    const cssHeight = Math.abs(drag.to.cssY - drag.from.cssY);
    const had = getBox();
    cancel();
    if (box[2] - box[0] < 1 || box[3] - box[1] < 1 || cssWidth < 3 || cssHeight < 3) {
      problems.action = [`That box has no area (a click or a line): drag out a rectangle around the object.${had ? ' The previous box is kept.' : ''}`];
      showProblems();
      return;
    }
    clearError();
    setBox(box);
  });
  surface.addEventListener('pointercancel', cancel);
  surface.addEventListener('keydown', (event) => event.key === 'Escape' && drag && cancel());
}

function boxOf({ from, to }) {
  return [
    Math.round(Math.min(from.x, to.x)), Math.round(Math.min(from.y, to.y)),
    Math.round(Math.max(from.x, to.x)), Math.round(Math.max(from.y, to.y)),
  ];
}

function showBox(rect, canvas, size, box) {
  if (!box || !size.width) {
    rect.hidden = true;
    return;
  }
  const sx = canvas.clientWidth / size.width;
  const sy = canvas.clientHeight / size.height;
  Object.assign(rect.style, {
    left: `${box[0] * sx}px`, top: `${box[1] * sy}px`,
    width: `${(box[2] - box[0]) * sx}px`, height: `${(box[3] - box[1]) * sy}px`,
  });
  rect.hidden = false;
}

function updateBoxUi() {
  const image = state.image;
  const example = state.example;
  const imageSize = image ? { width: image.originalWidth, height: image.originalHeight } : { width: 0 };
  showBox(el.boxRect, el.imageCanvas, imageSize, example ? null : state.box);
  if (example) showBox(el.exampleBoxRect, el.exampleCanvas, example, example.box);
  el.stage.classList.toggle('can-draw', Boolean(image) && !example);
  const vp = visualPrompt();
  const box = vp?.box;
  let info;
  if (example) {
    info = box ? `Example box ${box[2] - box[0]}×${box[3] - box[1]} at ${box[0]}, ${box[1]}` : 'The whole example image (draw a box on it to pick one object)';
  } else if (box) {
    info = `Box ${box[2] - box[0]}×${box[3] - box[1]} at ${box[0]}, ${box[1]}`;
  } else {
    info = image ? 'Drag on the image to draw a box.' : 'Open an image, then drag on it to draw a box.';
  }
  el.boxInfo.textContent = info;
  el.boxInfo.classList.toggle('muted', !vp);
  el.clearBox.disabled = !box;
  el.clearExample.hidden = !example;
}

async function openExample(file) {
  if (!file) return;
  clearError();
  let decoded;
  try {
    decoded = await decodeImage(file);
  } catch (error) {
    reportError(error);
    return;
  }
  state.example?.bitmap.close();
  state.example = {
    file, name: file.name || 'example', bitmap: decoded.bitmap,
    width: decoded.originalWidth, height: decoded.originalHeight, box: null, id: nextExampleId++,
  };
  el.exampleDetails.open = true;
  el.exampleStage.hidden = false;
  const canvas = el.exampleCanvas;
  const maxSide = 280;
  const scale = Math.min(1, maxSide / Math.max(decoded.width, decoded.height));
  const ratio = Math.min(window.devicePixelRatio || 1, 2);
  canvas.width = Math.max(1, Math.round(decoded.width * scale * ratio));
  canvas.height = Math.max(1, Math.round(decoded.height * scale * ratio));
  canvas.style.aspectRatio = `${decoded.width} / ${decoded.height}`;
  canvas.getContext('2d').drawImage(decoded.bitmap, 0, 0, canvas.width, canvas.height);
  changed();
}

function removeExample() {
  state.example?.bitmap.close();
  state.example = null;
  el.exampleStage.hidden = true;
  el.exampleBoxRect.hidden = true;
  changed();
}

// ---------------------------------------------------------------------------------------------
// Downloads (built in the export worker)

let exporter = null;
let nextExportId = 0;
const exports = new Map();

function exportWorker() {
  if (exporter) return exporter;
  exporter = new Worker(new URL('./export-worker.js', import.meta.url), { type: 'module' });
  exporter.onmessage = ({ data }) => {
    const job = exports.get(data.id);
    exports.delete(data.id);
    if (data.ok) job?.resolve(data.blob);
    else job?.reject(new Error(data.error));
  };
  exporter.onerror = (event) => {
    event.preventDefault?.();
    for (const job of exports.values()) job.reject(new Error(`the export worker failed: ${event.message || 'could not start'}`));
    exports.clear();
    exporter = null;
  };
  return exporter;
}

function runExport(op, args, transfer = []) {
  const id = nextExportId++;
  return new Promise((resolve, reject) => {
    exports.set(id, { resolve, reject });
    exportWorker().postMessage({ id, op, args }, transfer);
  });
}

function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = Object.assign(document.createElement('a'), { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

const baseName = () => (state.image?.name ?? 'image').replace(/\.[^.]+$/, '') || 'image';

async function download(kind, button) {
  const image = state.image;
  if (!image) {
    reportError('Open an image first.');
    return;
  }
  const layers = visibleLayers();
  if (!layers.length) {
    reportError(state.prompts.length || visualPrompt()
      ? 'Nothing to download yet: switch a layer on, or wait for the model to finish.'
      : 'Nothing to download yet: add a text prompt or draw a box first.');
    return;
  }
  clearError();
  const label = button.textContent;
  button.disabled = true;
  button.textContent = 'Preparing…';
  try {
    let blob;
    if (kind === 'mask') {
      blob = await runExport('mask', {
        layers: layers.map(({ logits }) => ({ logits })),
        width: image.originalWidth, height: image.originalHeight, threshold: state.threshold,
      });
    } else {
      const bitmap = await createImageBitmap(image.bitmap);
      blob = await runExport('composite', {
        bitmap, layers: layers.map(({ logits, color }) => ({ logits, rgb: rgbOf(color) })),
        width: image.width, height: image.height,
        mode: state.view, threshold: state.threshold, opacity: state.opacity,
      }, [bitmap]);
    }
    saveBlob(blob, `${baseName()}-${kind}.png`);
  } catch (error) {
    reportError(`Could not build the ${kind} PNG: ${error.message}`);
  } finally {
    button.disabled = !state.image;
    button.textContent = label;
  }
}

// ---------------------------------------------------------------------------------------------
// Events

el.message.addEventListener('click', (event) => {
  if (!event.target.closest('.dismiss')) return;
  if (problems.action) problems.action = null;
  else problems.model = null;
  showProblems();
});

// A different model or backend is chosen: the Load button says so (loading is explicit, since
// it can mean a download of hundreds of MB).
function selectionChanged() {
  const loaded = segmenter && state.model;
  const differs = !loaded || el.modelSelect.value !== state.model.id || el.backendSelect.value !== state.loadedBackend;
  el.loadButton.classList.toggle('attention', Boolean(differs && !state.loading && state.models.length));
  el.loadButton.title = differs ? 'Load the chosen model on the chosen backend' : 'Reload this model';
}
el.modelSelect.addEventListener('change', selectionChanged);
el.backendSelect.addEventListener('change', selectionChanged);

el.modelForm.addEventListener('submit', (event) => {
  event.preventDefault();
  loadModel();
});

el.fileInput.addEventListener('change', () => {
  const file = el.fileInput.files?.[0];
  el.fileInput.value = '';
  openImage(file);
});

el.exampleInput.addEventListener('change', () => {
  const file = el.exampleInput.files?.[0];
  el.exampleInput.value = '';
  openExample(file);
});
el.clearExample.addEventListener('click', removeExample);

// Drops: anywhere on the page opens the image; on the example preview, it sets the example.
const hasFiles = (event) => [...(event.dataTransfer?.types ?? [])].includes('Files');
let dragDepth = 0;
document.addEventListener('dragenter', (event) => {
  if (!hasFiles(event)) return;
  dragDepth++;
  document.body.classList.add('dragging');
});
document.addEventListener('dragleave', () => {
  dragDepth = Math.max(0, dragDepth - 1);
  if (!dragDepth) document.body.classList.remove('dragging');
});
document.addEventListener('dragover', (event) => {
  if (!hasFiles(event)) return;
  event.preventDefault();
  event.dataTransfer.dropEffect = 'copy';
});
function dropped(event, open) {
  event.preventDefault();
  event.stopPropagation();
  dragDepth = 0;
  document.body.classList.remove('dragging');
  const files = [...(event.dataTransfer?.files ?? [])];
  if (!files.length) {
    reportError('Nothing to open: drop an image file.');
    return;
  }
  open(files.find((f) => f.type.startsWith('image/')) ?? files[0]);
}
el.exampleDetails.addEventListener('drop', (event) => dropped(event, openExample));
el.dropZone.addEventListener('drop', (event) => dropped(event, openImage));
document.addEventListener('drop', (event) => {
  if (event.defaultPrevented) return;
  dropped(event, openImage);
});

document.addEventListener('paste', (event) => {
  const items = [...(event.clipboardData?.items ?? [])];
  const item = items.find((i) => i.kind === 'file' && i.type.startsWith('image/'))
    ?? items.find((i) => i.kind === 'file');
  const file = item?.getAsFile();
  if (!file) return; // text pastes go to the focused input as usual
  event.preventDefault();
  openImage(file);
});

el.addPrompt.addEventListener('click', addPrompt);
el.promptInput.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.isComposing) {
    event.preventDefault();
    addPrompt();
  }
});
el.promptInput.addEventListener('input', () => {
  if (el.promptInput.value.trim()) el.promptHint.textContent = '';
});

el.promptList.addEventListener('input', (event) => {
  const prompt = promptOf(event.target);
  if (!prompt) return;
  if (event.target.matches('.prompt-text')) {
    prompt.text = event.target.value;
    if (prompt.timer === null) pendingEdits++;
    clearTimeout(prompt.timer);
    prompt.timer = setTimeout(() => commitEdit(prompt), DEBOUNCE_MS);
    updateBusy();
  }
});
el.promptList.addEventListener('change', (event) => {
  const prompt = promptOf(event.target);
  if (!prompt) return;
  if (event.target.matches('.prompt-toggle')) {
    prompt.enabled = event.target.checked;
    updatePromptRows();
    scheduleRender();
  } else if (event.target.matches('.prompt-text')) {
    commitEdit(prompt);
  }
});
el.promptList.addEventListener('keydown', (event) => {
  if (event.key !== 'Enter' || !event.target.matches('.prompt-text')) return;
  const prompt = promptOf(event.target);
  if (prompt) commitEdit(prompt);
});
el.promptList.addEventListener('click', (event) => {
  const button = event.target.closest('.prompt-delete');
  const prompt = button && promptOf(button);
  if (!prompt) return;
  if (prompt.timer !== null) {
    clearTimeout(prompt.timer);
    prompt.timer = null;
    pendingEdits--;
  }
  state.prompts = state.prompts.filter((p) => p !== prompt);
  shown.delete(prompt.id);
  buildPromptRows();
  changed();
  updateBusy();
});

pointerBox({
  canvas: el.overlayCanvas,
  rect: el.boxRect,
  getSize: () => (state.image ? { width: state.image.originalWidth, height: state.image.originalHeight } : { width: 0, height: 0 }),
  getBox: () => (state.example ? null : state.box),
  setBox: (box) => {
    state.box = box;
    changed();
  },
  enabled: () => {
    if (!state.image) return false;
    if (state.example) {
      problems.action = ['An example image is in use: draw the box on the example preview, or remove the example to box something in this image.'];
      showProblems();
      return false;
    }
    return true;
  },
});
pointerBox({
  canvas: el.exampleCanvas,
  rect: el.exampleBoxRect,
  getSize: () => state.example ?? { width: 0, height: 0 },
  getBox: () => state.example?.box ?? null,
  setBox: (box) => {
    state.example.box = box;
    changed();
  },
  enabled: () => Boolean(state.example),
});

el.clearBox.addEventListener('click', () => {
  if (state.example) state.example.box = null;
  else state.box = null;
  clearError();
  changed();
});
el.boxToggle.addEventListener('change', () => {
  state.boxEnabled = el.boxToggle.checked;
  scheduleRender();
});

el.mix.addEventListener('input', () => {
  el.mixValue.textContent = Number(el.mix.value).toFixed(2);
  clearTimeout(mixTimer);
  mixTimer = setTimeout(() => {
    mixTimer = null;
    state.mix = Number(el.mix.value);
    changed();
    updateBusy();
  }, DEBOUNCE_MS);
  updateBusy();
});

el.threshold.addEventListener('input', () => {
  state.threshold = Number(el.threshold.value);
  el.thresholdValue.textContent = state.threshold.toFixed(2);
  scheduleRender();
});
el.opacity.addEventListener('input', () => {
  state.opacity = Number(el.opacity.value);
  el.opacityValue.textContent = state.opacity.toFixed(2);
  scheduleRender();
});
el.viewMode.addEventListener('change', () => {
  state.view = el.viewMode.value === 'heatmap' ? 'heatmap' : 'mask';
  el.threshold.disabled = state.view === 'heatmap';
  scheduleRender();
});

el.downloadMask.addEventListener('click', () => download('mask', el.downloadMask));
el.downloadComposite.addEventListener('click', () => download('composite', el.downloadComposite));

new ResizeObserver(queueLayout).observe(el.dropZone);
window.addEventListener('resize', queueLayout);

// Controls reflect their defaults even after a reload that kept form values.
el.threshold.value = String(state.threshold);
el.opacity.value = String(state.opacity);
el.mix.value = '0';
el.viewMode.value = 'mask';
updateBoxUi();
updateStatus();
exportWorker(); // start it now, so it is cached for offline use
init().catch((error) => {
  reportError(error);
  updateBusy();
});
