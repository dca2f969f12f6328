// One tab edits the project at a time. Two tabs of this page share one IndexedDB project, and
// each would save its own copy over the other's. The first tab holds a Web Lock; another tab
// opens paused (the page inert, a banner says why) with a button that takes the project over:
// the editing tab saves, pauses itself and lets go, and the other reads the saved project and
// goes on from exactly there. A paused tab also takes over by itself when the editing tab closes.
// Nothing is edited in two places, so no annotation is lost.
const LOCK = 'clipseg-label-project';

// Resolves to a function that lets the lock go once this tab holds it, or to null when another
// tab holds it and `ifAvailable` is set.
function acquire(options) {
  return new Promise((granted) => {
    navigator.locks.request(LOCK, options, (lock) => {
      if (!lock) {
        granted(null);
        return null;
      }
      return new Promise((release) => granted(release));
    });
  });
}

/**
 * Makes this tab the one that edits the project, or pauses it while another is.
 * save(): writes what is unsaved (before the project moves to another tab);
 * reload(): reads the saved project again (when it comes back to this tab);
 * pause(text, takeOver) / resume(): show and hide the paused state.
 * Returns false when this browser cannot tell tabs apart (no Web Locks): the caller warns instead.
 */
export async function claimProject({ save, reload, pause, resume }) {
  if (!globalThis.navigator?.locks || !globalThis.BroadcastChannel) return false;
  const channel = new BroadcastChannel(LOCK);
  let release = null;

  const takeOver = () => channel.postMessage('take-over');
  const waitForTurn = async () => {
    release = await acquire({});
    await reload();
    resume();
  };
  channel.onmessage = async ({ data }) => {
    if (data !== 'take-over' || !release) return;
    const letGo = release;
    release = null;
    pause('This project is now being edited in another tab of this browser. This tab is paused so that neither overwrites the other’s work.', takeOver);
    await save();
    letGo();
    waitForTurn();
  };

  release = await acquire({ ifAvailable: true });
  if (!release) {
    pause('This project is open in another tab of this browser, which is editing it. This tab is paused so that neither overwrites the other’s work.', takeOver);
    waitForTurn();
  }
  return true;
}
