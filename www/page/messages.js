// What the page tells the person: the message (a problem, with a dismiss button), the notices
// (lasting conditions: a scaled image, a restarted device), the status bar (backend, model,
// timings) and whether the page is busy (body[data-busy], read by the tests).
import { MODEL_KINDS } from '../clipseg.js';
import { el, fill } from './dom.js';
import { currentModel, modelLoading, segmenter } from './model.js';
import { timings } from './jobs.js';
import { updatePromptRows } from './prompts.js';
import { queueLayout } from './view.js';

export const GET_MODEL = [
  'Run ', ['code', 'bash scripts/start.sh'], ' (it fetches ', ['code', 'CIDAS/clipseg-rd64-refined'],
  ' from the Hugging Face hub, rebuilds and serves the site), or ', ['code', 'clipseg fetch'], ' and a rebuild (see README).',
];

// `model`: no usable model (until one loads); `action`: the last thing that went wrong, from the
// user's input ('user') or a model run ('run': cleared when a later run succeeds).
const problems = { model: null, action: null, source: null };
const notices = new Map();
const busy = new Map(); // what keeps the page busy → a count or flag

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

export function sentence(text) {
  const trimmed = String(text).trim();
  const capital = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

/** A problem with the model, followed by how to get a good one. */
export function modelProblem(detail) {
  return [`${sentence(detail)} `, ...GET_MODEL];
}

/** True for failures of the model's files (missing, partial, not CLIPSeg's): see www/errors.js. */
export const isModelError = (error) => MODEL_KINDS.includes(error?.kind);

/** The model problem shown until a model loads (parts as for `fill`, or null). */
export function setModelProblem(parts) {
  problems.model = parts;
  showProblems();
}

/** A problem with something the user just did (kept until the next action): an Error or text. */
export function reportError(error, source = 'user') {
  if (error instanceof Error) console.warn(error);
  const text = error instanceof Error ? error.message : String(error);
  reportProblem(isModelError(error) ? modelProblem(`The model is missing, partial or corrupt: ${text}`) : [sentence(text)], source);
}

/** The same, as parts for `fill`. */
export function reportProblem(parts, source = 'user') {
  problems.action = parts;
  problems.source = source;
  showProblems();
}

/** Retires the action's problem (only one from `source`, when given). */
export function clearError(source) {
  if (!problems.action || (source && problems.source !== source)) return;
  problems.action = null;
  showProblems();
}

export function setNotice(key, text) {
  if (text) notices.set(key, text);
  else notices.delete(key);
  el.notice.replaceChildren(...[...notices.values()].map((line) => Object.assign(document.createElement('p'), { textContent: line })));
  el.notice.classList.toggle('shown', notices.size > 0);
  queueLayout();
}

export function updateStatus() {
  const parts = [];
  const model = segmenter();
  if (model) {
    parts.push(model.backendLabel);
    if (currentModel()) parts.push(currentModel().id);
  } else if (modelLoading()) {
    parts.push('Loading the model…');
  } else {
    parts.push('No model loaded');
  }
  const { encode_ms: encode, decode_ms: decode } = timings();
  if (encode != null) parts.push(`encode ${Math.round(encode)} ms`);
  if (decode != null) parts.push(`decode ${Math.round(decode)} ms`);
  el.status.textContent = parts.join(' · ');
}

/** Marks one reason for being busy on or off (a number counts: 0 is off). */
export function setBusy(key, value) {
  if (value) busy.set(key, value);
  else busy.delete(key);
  updateBusy();
}

export function updateBusy() {
  document.body.dataset.busy = String(busy.size > 0);
  el.activity.textContent = busy.has('loading') ? 'Loading model…'
    : busy.has('encoding') ? 'Encoding image…'
      : busy.has('segmenting') ? 'Segmenting…' : '';
  el.activity.classList.toggle('working', Boolean(el.activity.textContent));
  updatePromptRows();
}

el.message.addEventListener('click', (event) => {
  if (!event.target.closest('.dismiss')) return;
  if (problems.action) problems.action = null;
  else problems.model = null;
  showProblems();
});
