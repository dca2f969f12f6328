// The labelling page's elements (label.html) and small DOM helpers.

const $ = (selector) => document.querySelector(selector);

export const el = {
  app: $('.label-app'), paused: $('#paused'), pausedText: $('#paused-text'), takeOver: $('#take-over'),
  modelForm: $('#model-form'), modelSelect: $('#model-select'), backendSelect: $('#backend-select'),
  loadButton: $('#load-button'), progress: $('#progress'), progressText: $('#progress-text'),
  demoBanner: $('#demo-banner'), message: $('#message'), notice: $('#notice'), toast: $('#toast'), status: $('#status'), activity: $('#activity'), saveState: $('#save-state'),
  filesInput: $('#files-input'), folderInput: $('#folder-input'), folderButton: $('#folder-button'), folderButton2: $('#folder-button-2'),
  imageCounts: $('#image-counts'), imageList: $('#image-list'), doneBar: $('#done-bar'),
  tools: [...document.querySelectorAll('.tool[data-tool]')], brushSize: $('#brush-size'), brushSizeValue: $('#brush-size-value'),
  undoButton: $('#undo-button'), redoButton: $('#redo-button'), prevButton: $('#prev-button'), nextButton: $('#next-button'),
  imagePosition: $('#image-position'), doneButton: $('#done-button'),
  dropZone: $('#drop-zone'), stage: $('#stage'), placeholder: $('#placeholder'), stageNote: $('#stage-note'),
  imageCanvas: $('#image-canvas'), instanceCanvas: $('#instance-canvas'), strokeCanvas: $('#stroke-canvas'), previewCanvas: $('#preview-canvas'),
  imageInfo: $('#image-info'), hoverInfo: $('#hover-info'), keyHelp: $('#key-help'),
  classForm: $('#class-form'), classInput: $('#class-input'), classList: $('#class-list'), classFile: $('#class-file'),
  maskState: $('#mask-state'), threshold: $('#threshold'), thresholdValue: $('#threshold-value'),
  minArea: $('#min-area'), acceptAll: $('#accept-all'), likeInfo: $('#like-info'),
  instanceCount: $('#instance-count'), instanceList: $('#instance-list'), instancesEmpty: $('#instances-empty'),
  likeButton: $('#like-button'), relabelButton: $('#relabel-button'), deleteButton: $('#delete-button'),
  formats: [...document.querySelectorAll('input[name="format"]')], segmentationSelect: $('#segmentation-select'),
  onlyDone: $('#only-done'), exportButton: $('#export-button'), importInput: $('#import-input'), newProject: $('#new-project'),
};

/**
 * A new element: h('li', { className: 'x', dataset: { id: 1 }, onclick }, 'text', child…).
 * Props go onto the element (dataset and style merged, `attrs` set as attributes).
 */
export function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  const { dataset, style, attrs, ...rest } = props ?? {};
  Object.assign(node, rest);
  if (dataset) Object.assign(node.dataset, dataset);
  if (style) Object.assign(node.style, style);
  for (const [name, value] of Object.entries(attrs ?? {})) node.setAttribute(name, value);
  node.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

/** A sentence from any text: capital first, full stop last. */
export function sentence(text) {
  const trimmed = String(text).trim();
  const capital = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?…]$/.test(capital) ? capital : `${capital}.`;
}

export const megabytes = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;

/** localStorage, which may be unavailable. */
export function safeStorage(op, key, value) {
  try {
    return op === 'get' ? localStorage.getItem(key) : localStorage.setItem(key, value);
  } catch {
    return null;
  }
}

/** True when keys typed now belong to a form field. */
export const typingIn = (target) => Boolean(target?.closest?.('input:not([type="checkbox"]):not([type="range"]):not([type="radio"]), textarea, select, [contenteditable="true"]'));

/** Offers a Blob as a download named `name`. */
export function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = h('a', { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** Scrolls `list` (a scrolling element) just enough to show `item`; the page itself stays put. */
export function revealIn(list, item) {
  if (!item) return;
  const top = item.offsetTop - list.offsetTop;
  if (top < list.scrollTop) list.scrollTop = top;
  else if (top + item.offsetHeight > list.scrollTop + list.clientHeight) list.scrollTop = top + item.offsetHeight - list.clientHeight;
}
