// clipseg-web's JS API embedded in a page: load the site's first model, encode the chosen image,
// segment it with the typed prompt and draw the mask over it. An app that installed the package
// imports from 'clipseg-web' instead. Every URL is relative to this file, so the example works
// wherever the site is served, a sub-path included. `?backend=cpu` picks the backend.
import { Segmenter, SegmenterError, listModels } from '../www/clipseg.js';

const MASK_COLOUR = [255, 40, 150, 150]; // RGBA over the image where the prompt's object is

const form = document.querySelector('#form');
const controls = document.querySelector('#controls');
const status = document.querySelector('#status');
const canvas = document.querySelector('#canvas');
const show = (text) => { status.textContent = text; };

// Runs one step with the controls off (they come on once a model is loaded), and shows what failed:
// the error's kind says what.
async function step(work) {
  controls.disabled = true;
  try {
    await work();
  } catch (error) {
    show(error instanceof SegmenterError ? `Failed (${error.kind}): ${error.message}` : String(error));
  } finally {
    controls.disabled = !segmenter;
  }
}

// The manifest's URLs are relative to the site's root, the parent of examples/.
const site = new URL('../', import.meta.url);
let segmenter;
let picture; // the chosen image, at the size the model sees it

await step(async () => {
  const [model] = await listModels(new URL('models/manifest.json', site));
  if (!model) throw new Error('This site serves no model (models/manifest.json).');
  segmenter = await Segmenter.load({
    modelUrl: new URL(model.url, site).href,
    tokenizerUrl: new URL(model.tokenizer, site).href,
    integrity: model.integrity,
    backend: new URLSearchParams(location.search).get('backend') ?? 'auto',
    onProgress: ({ loaded, total }) => show(`Downloading ${model.id}… ${Math.round((100 * loaded) / total)}%`),
  });
  show(`${model.id} is ready (${segmenter.backend}): choose an image.`);
});

form.elements.image.addEventListener('change', () => step(async () => {
  const file = form.elements.image.files[0];
  if (!file) return;
  show('Encoding the image…');
  const { width, height } = await segmenter.setImage(file);
  picture = await createImageBitmap(file, { resizeWidth: width, resizeHeight: height, resizeQuality: 'high' });
  draw();
  if (form.elements.prompt.value.trim()) await segment();
  else show('Now say what to find.');
}));

form.addEventListener('submit', (event) => {
  event.preventDefault();
  step(segment);
});

async function segment() {
  const prompt = form.elements.prompt.value.trim();
  if (!picture || !prompt) return;
  const { logits, size } = await segmenter.segment({ prompts: [prompt] });
  // The mask is where a logit is above 0 (a probability over 0.5), on the model's size × size map
  // of the whole image: painted at that size, then stretched over the image.
  const mask = new ImageData(size, size);
  let area = 0;
  for (let i = 0; i < logits.length; i++) {
    if (logits[i] > 0) {
      mask.data.set(MASK_COLOUR, 4 * i);
      area++;
    }
  }
  draw(await createImageBitmap(mask));
  show(`“${prompt}”: ${Math.round((100 * area) / logits.length)}% of the image.`);
}

function draw(overlay) {
  canvas.width = picture.width;
  canvas.height = picture.height;
  const context = canvas.getContext('2d');
  context.drawImage(picture, 0, 0);
  if (overlay) context.drawImage(overlay, 0, 0, canvas.width, canvas.height);
}
