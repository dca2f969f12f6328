// COCO's run-length encoding of a mask, as pycocotools writes it, for the labelling page: masks
// live in the page as crops (the pixels of their bounding box, see mask.js) and in the project,
// the undo history and IndexedDB as compressed COCO RLE strings of the whole image. Converting
// between the two never builds a full-size buffer. Pure: no DOM.
//
// RLE runs are column-major (index = y + height·x) and start with a background run. The
// compressed string (pycocotools' rleToString): from the fourth count on, the difference to the
// count two before; each value in 5-bit groups, least significant first, 0x20 while more follow,
// the sign in bit 0x10 of the last group, plus 48.
import { emptyMask } from './mask.js';

/** Run lengths → pycocotools' compressed counts string. */
export function compressCounts(counts) {
  let out = '';
  for (let i = 0; i < counts.length; i++) {
    let x = counts[i] - (i > 2 ? counts[i - 2] : 0);
    let more = true;
    while (more) {
      let c = ((x % 32) + 32) % 32; // x & 0x1f, for any size of x
      x = Math.floor(x / 32); // x >> 5, arithmetic
      more = c & 0x10 ? x !== -1 : x !== 0;
      if (more) c |= 0x20;
      out += String.fromCharCode(c + 48);
    }
  }
  return out;
}

/** pycocotools' compressed counts string → run lengths. Throws on a malformed string. */
export function decompressCounts(text) {
  if (typeof text !== 'string') throw new TypeError('RLE counts must be a string');
  const counts = [];
  let p = 0;
  while (p < text.length) {
    let x = 0;
    let k = 0;
    let more = true;
    while (more) {
      if (p >= text.length) throw new Error('RLE counts end in the middle of a value');
      const c = text.charCodeAt(p) - 48;
      if (c < 0 || c > 63) throw new Error(`RLE counts hold an invalid character “${text[p]}”`);
      x += (c & 0x1f) * 2 ** (5 * k);
      more = Boolean(c & 0x20);
      p++;
      k++;
      if (!more && c & 0x10) x -= 2 ** (5 * k);
    }
    if (counts.length > 2) x += counts[counts.length - 2];
    counts.push(x);
  }
  return counts;
}

/**
 * A crop mask ({ x, y, w, h, data }) of a `width`×`height` image → column-major run lengths.
 */
export function cropToCounts(mask, width, height) {
  const counts = [];
  let value = 0; // the value of the run being counted
  let end = 0; // linear index where the current run started
  const total = width * height;
  // Foreground intervals in column-major order; consecutive ones merge.
  const open = (start) => {
    if (value === 1) return; // continues the run
    counts.push(start - end);
    end = start;
    value = 1;
  };
  const close = (stop) => {
    if (value === 0) return;
    counts.push(stop - end);
    end = stop;
    value = 0;
  };
  const { x: mx, y: my, w, h, data } = mask;
  for (let cx = 0; cx < w; cx++) {
    const column = (mx + cx) * height + my;
    for (let cy = 0; cy < h; cy++) {
      if (data[cy * w + cx]) open(column + cy);
      else close(column + cy);
    }
    // A run reaching the crop's bottom goes on into the next column only when the crop is
    // as high as the image.
    if (h !== height) close(column + h);
  }
  if (w > 0) close((mx + w - 1) * height + my + h);
  counts.push(total - end);
  return trimCounts(counts, total);
}

// A trailing zero-length background run is not written (pycocotools ends on the last run).
function trimCounts(counts, total) {
  if (!counts.length) return [total];
  while (counts.length > 1 && counts[counts.length - 1] === 0) counts.pop();
  return counts;
}

/** Column-major run lengths of a `width`×`height` image → a tight crop mask. */
export function countsToCrop(counts, width, height) {
  let sum = 0;
  for (const c of counts) sum += c;
  if (sum !== width * height) throw new Error(`RLE counts cover ${sum} pixels, not ${width}×${height}`);
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -1;
  let y1 = -1;
  let at = 0;
  for (let i = 0; i < counts.length; i++) {
    const n = counts[i];
    if (i & 1 && n > 0) {
      const first = at;
      const last = at + n - 1;
      const fx = Math.floor(first / height);
      const lx = Math.floor(last / height);
      x0 = Math.min(x0, fx);
      x1 = Math.max(x1, lx);
      if (fx === lx) {
        y0 = Math.min(y0, first - fx * height);
        y1 = Math.max(y1, last - lx * height);
      } else {
        y0 = 0;
        y1 = height - 1;
      }
    }
    at += n;
  }
  if (x1 < 0) return emptyMask();
  const w = x1 - x0 + 1;
  const h = y1 - y0 + 1;
  const data = new Uint8Array(w * h);
  at = 0;
  for (let i = 0; i < counts.length; i++) {
    const n = counts[i];
    if (i & 1) {
      for (let p = at, stop = at + n; p < stop;) {
        const x = Math.floor(p / height);
        const y = p - x * height;
        const run = Math.min(stop - p, height - y); // the part in this column
        const base = x - x0;
        for (let k = 0; k < run; k++) data[(y + k - y0) * w + base] = 1;
        p += run;
      }
    }
    at += n;
  }
  return { x: x0, y: y0, w, h, data };
}

/** A crop mask → COCO's compressed counts string for the whole `width`×`height` image. */
export const encodeMask = (mask, width, height) => compressCounts(cropToCounts(mask, width, height));

/** A compressed counts string → a tight crop mask. */
export const decodeMask = (text, width, height) => countsToCrop(decompressCounts(text), width, height);
