// The text prompts: the list (each its own colour, on/off, editable, deletable), with edits
// debounced so that typing runs the model once. Owns the prompts and the edits in progress.
import { el } from './dom.js';
import { awaitsModel, changed, modelReady } from './jobs.js';
import { reportError, setBusy, updateBusy } from './messages.js';
import { forgetShown, scheduleRender } from './view.js';

const PALETTE = ['#ff5a5f', '#3d9bff', '#ffc83d', '#2fd07f', '#b57bff', '#ff8a3d', '#ff5fc8', '#8bd450'];
const DEBOUNCE_MS = 300;

/** { id, text (as typed), query (the debounced, trimmed text that runs), enabled, color, timer }. */
let prompts = [];
let nextId = 0;
let pendingEdits = 0; // prompt edits waiting out the debounce

export const promptList = () => prompts;

function setPending(delta) {
  pendingEdits += delta;
  setBusy('editing', pendingEdits);
}

function addPrompt() {
  const text = el.promptInput.value.trim();
  if (!text) {
    el.promptHint.textContent = 'Type a prompt first: empty prompts are not run.';
    reportError('The prompt is empty: type what to find, e.g. “a cat”. Empty prompts are never run.');
    el.promptInput.focus();
    return;
  }
  el.promptHint.textContent = '';
  const used = new Set(prompts.map((p) => p.color));
  const color = PALETTE.find((c) => !used.has(c)) ?? PALETTE[prompts.length % PALETTE.length];
  prompts.push({ id: nextId++, text, query: text, enabled: true, color, timer: null });
  el.promptInput.value = '';
  buildPromptRows();
  changed();
}

function buildPromptRows() {
  const rows = prompts.map((prompt, index) => {
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
  return row && prompts.find((p) => String(p.id) === row.dataset.id);
}

function commitEdit(prompt) {
  if (prompt.timer === null) return;
  clearTimeout(prompt.timer);
  prompt.timer = null;
  prompt.query = prompt.text.trim();
  changed();
  if (!prompt.query) {
    const index = prompts.indexOf(prompt) + 1;
    reportError(`Prompt ${index} is empty: it is skipped until you type something.`);
  }
  setPending(-1);
}

/** Each row's state line: empty, waiting for typing to stop, or waiting for the model. */
export function updatePromptRows() {
  for (const row of el.promptList.children) {
    const prompt = prompts.find((p) => String(p.id) === row.dataset.id);
    if (!prompt) continue;
    let text = '';
    let kind = '';
    if (!prompt.text.trim()) {
      text = 'Empty prompt: type something (it is not run).';
      kind = 'hint';
    } else if (prompt.timer !== null && modelReady()) {
      text = 'waiting for you to stop typing…';
      kind = 'pending';
    } else if (prompt.query && awaitsModel(prompt.query)) {
      text = 'running…';
      kind = 'pending';
    }
    row.querySelector('.prompt-state').textContent = text;
    row.classList.toggle('empty', kind === 'hint');
    row.classList.toggle('pending', kind === 'pending');
    row.classList.toggle('off', !prompt.enabled);
  }
}

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
  if (!prompt || !event.target.matches('.prompt-text')) return;
  prompt.text = event.target.value;
  if (prompt.timer === null) setPending(+1);
  clearTimeout(prompt.timer);
  prompt.timer = setTimeout(() => commitEdit(prompt), DEBOUNCE_MS);
  updateBusy();
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
    setPending(-1);
  }
  prompts = prompts.filter((p) => p !== prompt);
  forgetShown(prompt.id);
  buildPromptRows();
  changed();
});
