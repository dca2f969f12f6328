// The page: picks and loads a model, takes an image (file, drop, paste), keeps a list of text
// prompts and a box prompt, runs only what changed through the Segmenter (the model lives in a
// worker), and draws the results over the image. Downloads are built in a second worker.
//
// Each part is a module of www/page/ that owns its own state (see README, "The browser app");
// this entry point starts them and exposes a read-only view for tests and tools.
import { currentExample, imageBox, mixWeight, updateBoxUi, visualPrompt } from './page/box.js';
import { exportWorker } from './page/downloads.js';
import { currentImage } from './page/image.js';
import { lastResult, timings } from './page/jobs.js';
import { reportError, updateBusy, updateStatus } from './page/messages.js';
import { currentModel, initModels, modelList, modelLoading, segmenter } from './page/model.js';
import { promptList } from './page/prompts.js';
import { viewSettings } from './page/view.js';

window.clipsegApp = {
  get segmenter() { return segmenter(); },
  get lastResult() { return lastResult; },
  /** The page's state, read-only: each part is owned by its module. */
  state: Object.freeze({
    get models() { return modelList(); },
    get model() { return currentModel(); },
    get loading() { return modelLoading(); },
    get image() { return currentImage(); },
    get box() { return imageBox(); },
    get example() { return currentExample(); },
    get visualPrompt() { return visualPrompt(); },
    get prompts() { return promptList(); },
    get mix() { return mixWeight(); },
    get view() { return viewSettings(); },
    get timings() { return timings(); },
  }),
};

if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('sw.js').catch((error) => console.warn('service worker:', error));
}
updateBoxUi();
updateStatus();
exportWorker(); // start it now, so it is cached for offline use
initModels().catch((error) => {
  reportError(error);
  updateBusy();
});
