// The visual prompt: a box drawn on the image, or an example image (whole, or with a box drawn
// on its preview), its layer's on/off, and the weight it is mixed into the text prompts with.
// Owns the box, the example and the mix.
import { visualPrompt as visualPromptOf } from '../plan.js';
import { el } from './dom.js';
import { currentImage, decodeChosen } from './image.js';
import { changed } from './jobs.js';
import { clearError, reportProblem, setBusy } from './messages.js';
import { scheduleRender } from './view.js';

export const BOX_COLOR = '#22d3ee';
const DEBOUNCE_MS = 300;
const EXAMPLE_PREVIEW = 280; // CSS pixels, longer side

let box = null; // the box on the image, original pixels [x0, y0, x1, y1]
/** The example image: { file, name, bitmap, width, height, box, id }, or null. */
let example = null;
let nextExampleId = 0;
let layerOn = true;
let mix = 0;
let mixTimer = null; // a mix change waiting out the debounce

/** The visual prompt in force ({ key, visual, box }), or null: see plan.js. */
export const visualPrompt = () => visualPromptOf({ box, example });
export const mixWeight = () => mix;
export const boxLayerOn = () => layerOn;
export const currentExample = () => example;
/** The box on the image (kept with each image, so a failed image can give it back). */
export const imageBox = () => box;
export function setImageBox(next) {
  box = next;
}

// Drags on `canvas` draw a box, in the pixels of the image `getSize()` gives.
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
    const drawn = boxOf(drag);
    const cssWidth = Math.abs(drag.to.cssX - drag.from.cssX);
    const cssHeight = Math.abs(drag.to.cssY - drag.from.cssY);
    const had = getBox();
    cancel();
    // A click or a line is a gesture, not a box: said at once, and never sent to the model.
    if (drawn[2] - drawn[0] < 1 || drawn[3] - drawn[1] < 1 || cssWidth < 3 || cssHeight < 3) {
      reportProblem([`That box has no area (a click or a line): drag out a rectangle around the object.${had ? ' The previous box is kept.' : ''}`]);
      return;
    }
    clearError();
    setBox(drawn);
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

function showBox(rect, canvas, size, shown) {
  if (!shown || !size.width) {
    rect.hidden = true;
    return;
  }
  const sx = canvas.clientWidth / size.width;
  const sy = canvas.clientHeight / size.height;
  Object.assign(rect.style, {
    left: `${shown[0] * sx}px`, top: `${shown[1] * sy}px`,
    width: `${(shown[2] - shown[0]) * sx}px`, height: `${(shown[3] - shown[1]) * sy}px`,
  });
  rect.hidden = false;
}

const imageSize = () => {
  const image = currentImage();
  return image ? { width: image.originalWidth, height: image.originalHeight } : { width: 0, height: 0 };
};

export function updateBoxUi() {
  const image = currentImage();
  showBox(el.boxRect, el.imageCanvas, imageSize(), example ? null : box);
  if (example) showBox(el.exampleBoxRect, el.exampleCanvas, example, example.box);
  el.stage.classList.toggle('can-draw', Boolean(image) && !example);
  const vp = visualPrompt();
  const shown = vp?.box;
  let info;
  if (example) {
    info = shown ? `Example box ${shown[2] - shown[0]}×${shown[3] - shown[1]} at ${shown[0]}, ${shown[1]}` : 'The whole example image (draw a box on it to pick one object)';
  } else if (shown) {
    info = `Box ${shown[2] - shown[0]}×${shown[3] - shown[1]} at ${shown[0]}, ${shown[1]}`;
  } else {
    info = image ? 'Drag on the image to draw a box.' : 'Open an image, then drag on it to draw a box.';
  }
  el.boxInfo.textContent = info;
  el.boxInfo.classList.toggle('muted', !vp);
  el.clearBox.disabled = !shown;
  el.clearExample.hidden = !example;
}

/** Makes `file` the example image of the visual prompt. */
export async function openExample(file) {
  const decoded = await decodeChosen(file);
  if (!decoded) return;
  example?.bitmap.close();
  example = {
    file, name: file.name || 'example', bitmap: decoded.bitmap,
    width: decoded.originalWidth, height: decoded.originalHeight, box: null, id: nextExampleId++,
  };
  el.exampleDetails.open = true;
  el.exampleStage.hidden = false;
  const canvas = el.exampleCanvas;
  const scale = Math.min(1, EXAMPLE_PREVIEW / Math.max(decoded.width, decoded.height));
  const ratio = Math.min(window.devicePixelRatio || 1, 2);
  canvas.width = Math.max(1, Math.round(decoded.width * scale * ratio));
  canvas.height = Math.max(1, Math.round(decoded.height * scale * ratio));
  canvas.style.aspectRatio = `${decoded.width} / ${decoded.height}`;
  canvas.getContext('2d').drawImage(decoded.bitmap, 0, 0, canvas.width, canvas.height);
  changed();
}

function removeExample() {
  example?.bitmap.close();
  example = null;
  el.exampleStage.hidden = true;
  el.exampleBoxRect.hidden = true;
  changed();
}

pointerBox({
  canvas: el.overlayCanvas,
  rect: el.boxRect,
  getSize: imageSize,
  getBox: () => (example ? null : box),
  setBox: (drawn) => {
    box = drawn;
    changed();
  },
  enabled: () => {
    if (!currentImage()) return false;
    if (example) {
      reportProblem(['An example image is in use: draw the box on the example preview, or remove the example to box something in this image.']);
      return false;
    }
    return true;
  },
});
pointerBox({
  canvas: el.exampleCanvas,
  rect: el.exampleBoxRect,
  getSize: () => example ?? { width: 0, height: 0 },
  getBox: () => example?.box ?? null,
  setBox: (drawn) => {
    example.box = drawn;
    changed();
  },
  enabled: () => Boolean(example),
});

el.exampleInput.addEventListener('change', () => {
  const file = el.exampleInput.files?.[0];
  el.exampleInput.value = '';
  openExample(file);
});
el.clearExample.addEventListener('click', removeExample);
el.clearBox.addEventListener('click', () => {
  if (example) example.box = null;
  else box = null;
  clearError();
  changed();
});
el.boxToggle.addEventListener('change', () => {
  layerOn = el.boxToggle.checked;
  scheduleRender();
});
el.mix.addEventListener('input', () => {
  el.mixValue.textContent = Number(el.mix.value).toFixed(2);
  clearTimeout(mixTimer);
  mixTimer = setTimeout(() => {
    mixTimer = null;
    mix = Number(el.mix.value);
    changed();
    setBusy('mix', false);
  }, DEBOUNCE_MS);
  setBusy('mix', true);
});

el.boxSwatch.style.background = BOX_COLOR;
el.mix.value = '0';
