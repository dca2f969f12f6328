// The model: the manifest's list in the Model select, the backend choice, loading (with download
// progress) and the device notices. Owns the Segmenter in use.
import { Segmenter, listModels } from '../clipseg.js';
import { showDemoBanner } from '../demo-banner.js';
import { el, megabytes, safeStorage } from './dom.js';
import { modelChanged } from './jobs.js';
import { GET_MODEL, isModelError, modelProblem, sentence, setBusy, setModelProblem, setNotice, updateBusy, updateStatus } from './messages.js';

const BACKENDS = ['auto', 'webgpu', 'cpu'];

let models = []; // the manifest's entries
let model = null; // the manifest entry loaded (or loading)
let loadedBackend = null; // the backend asked for when it loaded: 'auto', 'webgpu' or 'cpu'
let loading = false;
let current = null; // the Segmenter, once loaded
let token = 0; // the latest load; earlier ones are dropped when they finish

/** The loaded Segmenter, or null. */
export const segmenter = () => current;
/** The manifest entry of the model loaded or loading. */
export const currentModel = () => model;
export const modelLoading = () => loading;
export const modelList = () => models;

/** Fills the Model select from the manifest and loads the model the URL or the last visit chose. */
export async function initModels() {
  models = await listModels('models/manifest.json').catch(() => []);
  for (const entry of models) {
    const option = document.createElement('option');
    option.value = entry.id;
    const size = entry.bytes ? ` · ${megabytes(entry.bytes)}` : '';
    option.textContent = `${entry.id}${entry.dtype ? ` (${entry.dtype})` : ''}${size}${entry.randomWeights ? ' · demo, random weights' : ''}`;
    el.modelSelect.append(option);
  }
  if (!models.length) {
    const option = document.createElement('option');
    option.textContent = 'No model available';
    option.value = '';
    el.modelSelect.append(option);
    el.modelSelect.disabled = true;
    el.loadButton.disabled = true;
    setModelProblem(['No model is installed on this site (models/manifest.json lists none). ', ...GET_MODEL]);
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
  if (BACKENDS.includes(backend)) el.backendSelect.value = backend;
  if (models.some((m) => m.id === wanted)) {
    el.modelSelect.value = wanted;
  } else if (query.has('model')) {
    setModelProblem(modelProblem(`The model “${wanted}” is not on this site (models/manifest.json does not list it).`));
    el.progressText.textContent = 'not loaded';
    updateStatus();
    updateBusy();
    return;
  }
  await loadModel();
}

function showProgress(done, whole) {
  el.progress.max = whole;
  el.progress.value = done;
  el.progressText.textContent = `${megabytes(done)} of ${megabytes(whole)}`;
}

function setLoading(on) {
  loading = on;
  setBusy('loading', on);
}

/** Loads the chosen model on the chosen backend (one model in memory at a time). */
export async function loadModel() {
  const entry = models.find((m) => m.id === el.modelSelect.value);
  if (!entry) return;
  const backend = el.backendSelect.value;
  safeStorage('set', 'clipseg.model', entry.id);
  safeStorage('set', 'clipseg.backend', backend);
  showDemoBanner(el.demoBanner, entry);
  const old = current;
  current = null;
  old?.dispose();
  document.body.dataset.ready = 'false';
  model = entry;
  modelChanged();
  setLoading(true);
  el.loadButton.disabled = true;
  el.progress.max = entry.bytes || 1;
  el.progress.value = 0;
  el.progressText.textContent = entry.bytes ? `0.0 MB of ${megabytes(entry.bytes)}` : 'starting…';
  setModelProblem(null);
  setNotice('device', null);
  updateStatus();
  const mine = ++token;
  try {
    const loaded = await Segmenter.load({
      modelUrl: entry.url,
      tokenizerUrl: entry.tokenizer,
      integrity: entry.integrity,
      backend,
      // The worker's total grows file by file; the manifest knows the whole from the start.
      onProgress: ({ loaded: done, total }) => mine === token && showProgress(done, Math.max(total, entry.bytes || 0, 1)),
      onEvent: onModelEvent,
    });
    if (mine !== token) {
      loaded.dispose();
      return;
    }
    current = loaded;
    loadedBackend = backend;
    el.progress.value = el.progress.max;
    el.progressText.textContent = `${megabytes(entry.bytes || el.progress.max)} · ${loaded.cached ? 'from cache' : 'downloaded'}`;
    document.body.dataset.ready = 'true';
  } catch (error) {
    if (mine !== token) return;
    console.warn(error);
    el.progressText.textContent = 'not loaded';
    const text = error?.message ?? String(error);
    setModelProblem(isModelError(error)
      ? modelProblem(`The model “${entry.id}” is missing, partial or corrupt: ${text}`)
      : [`The model could not be loaded: ${sentence(text)}`, ...(backend === 'webgpu' ? [' Choose Auto or CPU and load again.'] : [])]);
  } finally {
    if (mine === token) {
      setLoading(false);
      el.loadButton.disabled = false;
      selectionChanged();
      updateStatus();
    }
  }
  modelChanged();
}

function onModelEvent({ type, message }) {
  if (type === 'device-lost') {
    setNotice('device', `The WebGPU device was lost (${message}). Restarting the model; your image and prompts are kept…`);
  } else if (type === 'recovered') {
    setNotice('device', `Recovered: ${message}. Carrying on.`);
    updateStatus();
  }
}

// A different model or backend is chosen: the Load button says so (loading is explicit, since
// it can mean a download of hundreds of MB).
function selectionChanged() {
  const differs = !current || !model || el.modelSelect.value !== model.id || el.backendSelect.value !== loadedBackend;
  el.loadButton.classList.toggle('attention', Boolean(differs && !loading && models.length));
  el.loadButton.title = differs ? 'Load the chosen model on the chosen backend' : 'Reload this model';
}

el.modelSelect.addEventListener('change', selectionChanged);
el.backendSelect.addEventListener('change', selectionChanged);
el.modelForm.addEventListener('submit', (event) => {
  event.preventDefault();
  loadModel();
});
