// The downloads: the mask PNG at the image's original size and the composite (image + overlay),
// built in the export worker (www/export-worker.js) from the visible layers.
import { rgbOf } from '../overlay.js';
import { connect } from '../rpc.js';
import { visualPrompt } from './box.js';
import { el } from './dom.js';
import { currentImage } from './image.js';
import { clearError, reportError } from './messages.js';
import { promptList } from './prompts.js';
import { viewSettings, visibleLayers } from './view.js';

let exporter = null;

/** The export worker, started on first use (or at start-up, so that it is cached for offline use). */
export function exportWorker() {
  exporter ??= connect(new Worker(new URL('../export-worker.js', import.meta.url), { type: 'module' }), {
    name: 'export worker',
    toError: ({ message }) => new Error(message),
    onCrash: () => {
      exporter = null;
    },
  });
  return exporter;
}

function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = Object.assign(document.createElement('a'), { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

async function build(kind, image, layers) {
  const { mode, threshold, opacity } = viewSettings();
  if (kind === 'mask') {
    return exportWorker().call('mask', {
      layers: layers.map(({ logits, size }) => ({ logits, size })),
      width: image.originalWidth, height: image.originalHeight, threshold,
    });
  }
  const bitmap = await createImageBitmap(image.bitmap);
  return exportWorker().call('composite', {
    bitmap, layers: layers.map(({ logits, size, color }) => ({ logits, size, rgb: rgbOf(color) })),
    width: image.width, height: image.height, mode, threshold, opacity,
  }, [bitmap]);
}

async function download(kind, button) {
  const image = currentImage();
  if (!image) {
    reportError('Open an image first.');
    return;
  }
  const layers = visibleLayers();
  if (!layers.length) {
    reportError(promptList().length || visualPrompt()
      ? 'Nothing to download yet: switch a layer on, or wait for the model to finish.'
      : 'Nothing to download yet: add a text prompt or draw a box first.');
    return;
  }
  clearError();
  const label = button.textContent;
  button.disabled = true;
  button.textContent = 'Preparing…';
  try {
    const blob = await build(kind, image, layers);
    const base = image.name.replace(/\.[^.]+$/, '') || 'image';
    saveBlob(blob, `${base}-${kind}.png`);
  } catch (error) {
    reportError(`Could not build the ${kind} PNG: ${error.message}`);
  } finally {
    button.disabled = !currentImage();
    button.textContent = label;
  }
}

el.downloadMask.addEventListener('click', () => download('mask', el.downloadMask));
el.downloadComposite.addEventListener('click', () => download('composite', el.downloadComposite));
