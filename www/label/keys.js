// The labelling page's keyboard: one table from keys to actions, which also writes the help
// line, so the two cannot disagree. Pure: `actionFor` reads a KeyboardEvent-like object.

/** [action, keys shown in the help, description, matcher(event)] */
const KEYS = [
  ['class', '1–9', 'class', (e) => !e.ctrl && /^[1-9]$/.test(e.key)],
  ['undo', 'Ctrl+Z', 'undo', (e) => e.ctrl && !e.shift && e.lower === 'z'],
  ['redo', 'Ctrl+Shift+Z / Ctrl+Y', 'redo', (e) => e.ctrl && ((e.shift && e.lower === 'z') || (!e.shift && e.lower === 'y'))],
  ['next', '→ / D', 'next image', (e) => !e.ctrl && (e.key === 'ArrowRight' || e.lower === 'd' || e.key === 'PageDown')],
  ['previous', '← / S', 'previous image', (e) => !e.ctrl && (e.key === 'ArrowLeft' || e.lower === 's' || e.key === 'PageUp')],
  ['done', 'Enter', 'image done', (e) => !e.ctrl && e.key === 'Enter'],
  ['accept-all', 'A', 'accept every region', (e) => !e.ctrl && e.lower === 'a'],
  ['tool-click', 'V', 'click tool', (e) => !e.ctrl && e.lower === 'v'],
  ['tool-box', 'B (hold or tap)', 'box', (e) => !e.ctrl && e.lower === 'b'],
  ['tool-brush', 'R', 'brush', (e) => !e.ctrl && e.lower === 'r'],
  ['tool-eraser', 'E', 'eraser', (e) => !e.ctrl && e.lower === 'e'],
  ['smaller', '[', 'smaller brush', (e) => !e.ctrl && e.key === '['],
  ['bigger', ']', 'bigger brush', (e) => !e.ctrl && e.key === ']'],
  ['like', 'M', 'more like the selected', (e) => !e.ctrl && e.lower === 'm'],
  ['relabel', 'L', 'relabel to the class', (e) => !e.ctrl && e.lower === 'l'],
  ['hide', 'H', 'hide/show', (e) => !e.ctrl && e.lower === 'h'],
  ['delete', 'Del', 'delete', (e) => !e.ctrl && (e.key === 'Delete' || e.key === 'Backspace')],
  ['deselect', 'Esc', 'deselect', (e) => e.key === 'Escape'],
  ['zoom-in', '+ / −', 'zoom (or the wheel)', (e) => !e.ctrl && (e.key === '+' || e.key === '=')],
  ['zoom-out', null, null, (e) => !e.ctrl && (e.key === '-' || e.key === '_')],
  ['zoom-fit', '0', 'fit', (e) => !e.ctrl && e.key === '0'],
];

/** The action of a key press ({ key, ctrlKey, metaKey, shiftKey, altKey }) or null. */
export function actionFor(event) {
  const e = {
    key: event.key,
    lower: typeof event.key === 'string' ? event.key.toLowerCase() : '',
    ctrl: Boolean(event.ctrlKey || event.metaKey),
    shift: Boolean(event.shiftKey),
  };
  if (event.altKey && e.key !== 'Escape') return null;
  for (const [action, , , matches] of KEYS) if (matches(e)) return action;
  return null;
}

/** The class index (0–8) of a digit key. */
export const classIndexOf = (event) => Number(event.key) - 1;

/** The help line: [[keys, description]] in the table's order. */
export const KEY_HELP = Object.freeze(KEYS.filter(([, keys]) => keys).map(([, keys, description]) => [keys, description]));

/** The mouse, for the same help. */
export const MOUSE_HELP = Object.freeze([
  ['Click', 'add the region'],
  ['Shift+click', 'merge into the selected'],
  ['Alt+click / right-click', 'cut from the selected'],
  ['Drag with B', 'box'],
  ['Space+drag', 'pan'],
]);
