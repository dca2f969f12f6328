// What the labelling page tells the person: one problem at a time (with a dismiss button), a
// passing hint (a toast: what a key or click could not do, and why),
// lasting notices, the status bar, what it is busy with (body[data-busy], read by the tests)
// and whether the project is saved (body[data-saved] and the indicator in the status bar).
import { MODEL_KINDS } from '../errors.js';
import { el, h, sentence } from './dom.js';

const notices = new Map();
const busy = new Map();
let saveState = { state: 'saved', detail: '' };
let retry = null;
let storageKept = null; // whether the browser promised to keep this site's storage

export const GET_MODEL = 'Run bash scripts/start.sh (it fetches CIDAS/clipseg-rd64-refined from the Hugging Face hub, rebuilds and serves the site), or clipseg fetch and a rebuild (see README).';

/** Shows a problem: an Error or text (and logs Errors). */
export function reportError(error) {
  if (error instanceof Error) console.warn(error);
  const text = error instanceof Error ? error.message : String(error);
  const model = MODEL_KINDS.includes(error?.kind);
  showMessage(model ? `${sentence(`The model is missing, partial or corrupt: ${text}`)} ${GET_MODEL}` : sentence(text));
}

export function showMessage(text) {
  el.message.replaceChildren(
    h('span', { className: 'message-text' }, text),
    h('button', { type: 'button', className: 'dismiss', title: 'Dismiss', attrs: { 'aria-label': 'Dismiss this message' } }),
  );
  el.message.classList.add('shown');
}

let toastTimer = 0;

/** A passing hint (no layout shift, gone after a few seconds): for what is no error. */
export function hint(text) {
  el.toast.textContent = text;
  el.toast.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    el.toast.hidden = true;
  }, 5000);
}

export function clearError() {
  el.message.replaceChildren();
  el.message.classList.remove('shown');
}

export function setNotice(key, text) {
  if (text) notices.set(key, text);
  else notices.delete(key);
  el.notice.replaceChildren(...[...notices.values()].map((line) => h('p', {}, line)));
  el.notice.classList.toggle('shown', notices.size > 0);
}

export function setStatus(text) {
  el.status.textContent = text;
}

const ACTIVITY = [
  ['loading', 'Loading the model…'], ['restoring', 'Restoring the project…'], ['encoding', 'Encoding the image…'],
  ['segmenting', 'Finding the class…'], ['box', 'Segmenting the box…'], ['exporting', 'Building the zip…'],
  ['importing', 'Importing…'], ['adding', 'Adding images…'],
];

/** Marks one reason for being busy on or off (a number counts: 0 is off). */
export function setBusy(key, value) {
  if (value) busy.set(key, value);
  else busy.delete(key);
  document.body.dataset.busy = String(busy.size > 0);
  const doing = ACTIVITY.find(([k]) => busy.has(k));
  el.activity.textContent = doing ? doing[1] : '';
  el.activity.classList.toggle('working', Boolean(doing));
}

export const isBusy = (key) => busy.has(key);

/**
 * The save indicator: 'saved', 'saving' or 'unsaved' (with why, and a Retry that calls `onRetry`).
 */
export function setSaveState(state, detail = '', onRetry = null) {
  saveState = { state, detail };
  retry = onRetry;
  document.body.dataset.saved = String(state === 'saved');
  el.saveState.className = `save-state ${state}`;
  const text = state === 'saved' ? 'All changes saved in this browser' : state === 'saving' ? 'Saving…' : 'Not saved';
  el.saveState.replaceChildren(text);
  const kept = storageKept === false
    ? ' The browser may clear this site’s storage when space runs low: export the dataset now and then.' : '';
  el.saveState.title = `${detail || text}.${kept}`;
  if (state === 'unsaved' && onRetry) {
    el.saveState.append(' ', h('button', { type: 'button', className: 'small link', textContent: 'Retry', onclick: () => retry?.() }));
  }
}

export const currentSaveState = () => ({ ...saveState });

/** Whether the browser keeps this site's storage under pressure (navigator.storage.persist()). */
export function setStorageKept(kept) {
  storageKept = kept;
  setSaveState(saveState.state, saveState.detail, retry);
}

el.message.addEventListener('click', (event) => {
  if (event.target.closest('.dismiss')) clearError();
});
