// The page's elements and small DOM helpers shared by the page's modules (www/page/*.js).

const $ = (selector) => document.querySelector(selector);

export const el = {
  modelForm: $('#model-form'), modelSelect: $('#model-select'), backendSelect: $('#backend-select'),
  loadButton: $('#load-button'), progress: $('#progress'), progressText: $('#progress-text'),
  demoBanner: $('#demo-banner'), message: $('#message'), notice: $('#notice'), status: $('#status'), activity: $('#activity'),
  dropZone: $('#drop-zone'), stage: $('#stage'), placeholder: $('#placeholder'),
  imageCanvas: $('#image-canvas'), overlayCanvas: $('#overlay-canvas'), boxRect: $('#box-rect'),
  fileInput: $('#file-input'), imageInfo: $('#image-info'),
  promptInput: $('#prompt-input'), addPrompt: $('#add-prompt'), promptHint: $('#prompt-hint'),
  promptList: $('#prompt-list'),
  boxSwatch: $('.box-swatch'), boxToggle: $('#box-toggle'), boxInfo: $('#box-info'), clearBox: $('#clear-box'),
  exampleDetails: $('#example-details'), exampleInput: $('#example-input'), clearExample: $('#clear-example'),
  exampleStage: $('#example-stage'), exampleCanvas: $('#example-canvas'), exampleBoxRect: $('#example-box-rect'),
  mix: $('#mix'), mixValue: $('#mix-value'),
  viewMode: $('#view-mode'), threshold: $('#threshold'), thresholdValue: $('#threshold-value'),
  opacity: $('#opacity'), opacityValue: $('#opacity-value'),
  downloadMask: $('#download-mask'), downloadComposite: $('#download-composite'),
};

/** Runs `work` once on the next animation frame, however often it is asked for before then. */
export function oncePerFrame(work) {
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

/** Fills `node` with text and elements: parts are strings or [tagName, text]. */
export function fill(node, parts) {
  node.replaceChildren(...parts.map((part) => {
    if (typeof part === 'string') return document.createTextNode(part);
    const child = document.createElement(part[0]);
    child.textContent = part[1];
    return child;
  }));
}

/** localStorage, which may be unavailable (private modes, file: pages). */
export function safeStorage(op, key, value) {
  try {
    return op === 'get' ? localStorage.getItem(key) : localStorage.setItem(key, value);
  } catch {
    return null;
  }
}

export const megabytes = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;
