// The model for the labelling page: the manifest's models in the Model select, loading (with
// download progress), and the order of work on it: what the person waits for (a class mask, a
// box) goes first; background encodes of the next images run only while nothing else waits.
import { Segmenter, listModels } from '../clipseg.js';
import { showDemoBanner } from '../demo-banner.js';
import { MODEL_KINDS } from '../errors.js';
import { el, h, megabytes, safeStorage, sentence } from './dom.js';
import { GET_MODEL, setBusy, setNotice, setStatus, showMessage } from './messages.js';

const BACKENDS = ['auto', 'webgpu', 'cpu'];

let models = [];
let model = null;
let current = null;
let token = 0;
let foreground = 0; // foreground tasks running or waiting
let idle = []; // resolvers waiting for foreground === 0
const listeners = new Set();

/** The loaded Segmenter, or null. */
export const segmenter = () => current;
export const currentModel = () => model;

/** listener(segmenter) when a model is ready. */
export function onModelReady(listener) {
  listeners.add(listener);
}

let chain = Promise.resolve(); // foreground tasks run one at a time, in order

/**
 * Runs `work(segmenter)` when the foreground tasks before it are done, before any background
 * work; null when no model is loaded. One at a time, so no task's image changes under it.
 */
export async function foregroundTask(work) {
  if (!current) return null;
  foreground++;
  const turn = chain;
  let release;
  chain = new Promise((resolve) => { release = resolve; });
  try {
    await turn;
    return current ? await work(current) : null;
  } finally {
    release();
    foreground--;
    if (!foreground) {
      for (const resolve of idle) resolve();
      idle = [];
    }
  }
}

/** Resolves when no foreground task runs or waits. */
export function whenIdle() {
  return foreground ? new Promise((resolve) => idle.push(resolve)) : Promise.resolve();
}

function describeStatus() {
  const parts = [];
  if (current) parts.push(current.backendLabel, model.id);
  else parts.push(model ? 'Loading the model…' : 'No model loaded');
  setStatus(parts.join(' · '));
}

/** Fills the Model select from the manifest and loads the one the URL or the last visit chose. */
export async function initModels() {
  models = await listModels('models/manifest.json').catch(() => []);
  el.modelSelect.replaceChildren(...models.map((entry) => h('option', {
    value: entry.id,
    textContent: `${entry.id}${entry.dtype ? ` (${entry.dtype})` : ''}${entry.bytes ? ` · ${megabytes(entry.bytes)}` : ''}${entry.randomWeights ? ' · demo, random weights' : ''}`,
  })));
  if (!models.length) {
    el.modelSelect.append(h('option', { value: '', textContent: 'No model available' }));
    el.modelSelect.disabled = true;
    el.loadButton.disabled = true;
    showMessage(`No model is installed on this site (models/manifest.json lists none). ${GET_MODEL}`);
    el.progressText.textContent = 'no model';
    describeStatus();
    return;
  }
  const query = new URLSearchParams(location.search);
  const wanted = query.get('model') ?? safeStorage('get', 'clipseg.model');
  const backend = query.get('backend') ?? safeStorage('get', 'clipseg.backend');
  if (BACKENDS.includes(backend)) el.backendSelect.value = backend;
  if (models.some((m) => m.id === wanted)) el.modelSelect.value = wanted;
  await loadModel();
}

/** Loads the chosen model on the chosen backend. */
export async function loadModel() {
  const entry = models.find((m) => m.id === el.modelSelect.value);
  if (!entry) return;
  const backend = el.backendSelect.value;
  safeStorage('set', 'clipseg.model', entry.id);
  safeStorage('set', 'clipseg.backend', backend);
  showDemoBanner(el.demoBanner, entry);
  current?.dispose();
  current = null;
  model = entry;
  document.body.dataset.ready = 'false';
  setBusy('loading', true);
  el.loadButton.disabled = true;
  el.progress.max = entry.bytes || 1;
  el.progress.value = 0;
  el.progressText.textContent = entry.bytes ? `0.0 MB of ${megabytes(entry.bytes)}` : 'starting…';
  describeStatus();
  const mine = ++token;
  try {
    const loaded = await Segmenter.load({
      modelUrl: entry.url,
      tokenizerUrl: entry.tokenizer,
      integrity: entry.integrity,
      backend,
      onProgress: ({ loaded: done, total }) => {
        if (mine !== token) return;
        el.progress.max = Math.max(total, entry.bytes || 0, 1);
        el.progress.value = done;
        el.progressText.textContent = `${megabytes(done)} of ${megabytes(el.progress.max)}`;
      },
      onEvent: ({ type, message }) => setNotice('device', type === 'device-lost'
        ? `The WebGPU device was lost (${message}). Restarting the model; your labels are safe…`
        : `Recovered: ${message}.`),
    });
    if (mine !== token) {
      loaded.dispose();
      return;
    }
    current = loaded;
    el.progress.value = el.progress.max;
    el.progressText.textContent = `${megabytes(entry.bytes || el.progress.max)} · ${loaded.cached ? 'from cache' : 'downloaded'}`;
    document.body.dataset.ready = 'true';
    for (const listener of listeners) listener(current);
  } catch (error) {
    if (mine !== token) return;
    console.warn(error);
    el.progressText.textContent = 'not loaded';
    const text = error?.message ?? String(error);
    showMessage(MODEL_KINDS.includes(error?.kind)
      ? `${sentence(`The model “${entry.id}” is missing, partial or corrupt: ${text}`)} ${GET_MODEL}`
      : `The model could not be loaded: ${sentence(text)}${backend === 'webgpu' ? ' Choose Auto or CPU and load again.' : ''} Your labels are kept.`);
  } finally {
    if (mine === token) {
      setBusy('loading', false);
      el.loadButton.disabled = false;
      describeStatus();
    }
  }
}

el.modelForm.addEventListener('submit', (event) => {
  event.preventDefault();
  loadModel();
});
