// Instance masks as crops: { x, y, w, h, data } — the 0/1 pixels (row-major, one byte each) of
// the mask's box in image coordinates. A mask the size of a cat costs the cat's box, not the
// photo's 12 megapixels, and every edit (merge, cut, brush) touches only the boxes involved.
// Pure: no DOM. Every function returns a new mask and never changes its inputs.

export const emptyMask = () => ({ x: 0, y: 0, w: 0, h: 0, data: new Uint8Array(0) });

export const isEmpty = (mask) => mask.w === 0 || mask.h === 0;

/** A copy that can be changed in place (see paintSegment). */
export const copyMask = (mask) => ({ ...mask, data: mask.data.slice() });

/** The number of set pixels. */
export function areaOf(mask) {
  let n = 0;
  for (let i = 0; i < mask.data.length; i++) n += mask.data[i] ? 1 : 0;
  return n;
}

/** True where (x, y), in image pixels, is set. */
export function maskHas(mask, x, y) {
  const cx = Math.floor(x) - mask.x;
  const cy = Math.floor(y) - mask.y;
  return cx >= 0 && cy >= 0 && cx < mask.w && cy < mask.h && mask.data[cy * mask.w + cx] === 1;
}

/** The same pixels in the smallest box (an empty mask when none is set). */
export function trimMask(mask) {
  const { w, h, data } = mask;
  let x0 = w;
  let y0 = h;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (!data[y * w + x]) continue;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      y1 = y;
    }
  }
  if (x1 < 0) return emptyMask();
  if (x0 === 0 && y0 === 0 && x1 === w - 1 && y1 === h - 1) return mask;
  return copyInto(mask, { x: mask.x + x0, y: mask.y + y0, w: x1 - x0 + 1, h: y1 - y0 + 1 });
}

// `mask`'s pixels inside `box` ({ x, y, w, h }), in a new mask of that box.
function copyInto(mask, box) {
  const out = { ...box, data: new Uint8Array(box.w * box.h) };
  const xa = Math.max(box.x, mask.x);
  const xb = Math.min(box.x + box.w, mask.x + mask.w);
  const ya = Math.max(box.y, mask.y);
  const yb = Math.min(box.y + box.h, mask.y + mask.h);
  for (let y = ya; y < yb; y++) {
    const from = (y - mask.y) * mask.w + (xa - mask.x);
    out.data.set(mask.data.subarray(from, from + Math.max(0, xb - xa)), (y - box.y) * box.w + (xa - box.x));
  }
  return out;
}

const unionBox = (a, b) => {
  if (isEmpty(a)) return { x: b.x, y: b.y, w: b.w, h: b.h };
  if (isEmpty(b)) return { x: a.x, y: a.y, w: a.w, h: a.h };
  const x = Math.min(a.x, b.x);
  const y = Math.min(a.y, b.y);
  return { x, y, w: Math.max(a.x + a.w, b.x + b.w) - x, h: Math.max(a.y + a.h, b.y + b.h) - y };
};

/** Pixels set in `a` or `b`. */
export function unionMasks(a, b) {
  if (isEmpty(b)) return a;
  if (isEmpty(a)) return trimMask(b);
  const out = copyInto(a, unionBox(a, b));
  for (let y = 0; y < b.h; y++) {
    const row = (b.y + y - out.y) * out.w + (b.x - out.x);
    for (let x = 0; x < b.w; x++) if (b.data[y * b.w + x]) out.data[row + x] = 1;
  }
  return out;
}

/** Pixels set in `a` and not in `b`. */
export function subtractMasks(a, b) {
  if (isEmpty(a) || isEmpty(b)) return a;
  const out = copyInto(a, a);
  const xa = Math.max(a.x, b.x);
  const xb = Math.min(a.x + a.w, b.x + b.w);
  const ya = Math.max(a.y, b.y);
  const yb = Math.min(a.y + a.h, b.y + b.h);
  for (let y = ya; y < yb; y++) {
    for (let x = xa; x < xb; x++) {
      if (b.data[(y - b.y) * b.w + (x - b.x)]) out.data[(y - a.y) * a.w + (x - a.x)] = 0;
    }
  }
  return trimMask(out);
}

/** The number of pixels set in both. */
export function overlapArea(a, b) {
  let n = 0;
  const xa = Math.max(a.x, b.x);
  const xb = Math.min(a.x + a.w, b.x + b.w);
  const ya = Math.max(a.y, b.y);
  const yb = Math.min(a.y + a.h, b.y + b.h);
  for (let y = ya; y < yb; y++) {
    for (let x = xa; x < xb; x++) {
      if (a.data[(y - a.y) * a.w + (x - a.x)] && b.data[(y - b.y) * b.w + (x - b.x)]) n++;
    }
  }
  return n;
}

/** The pixels inside the box [x0, y0, x1, y1) only. */
export function clipMask(mask, [x0, y0, x1, y1]) {
  const x = Math.max(mask.x, Math.floor(x0));
  const y = Math.max(mask.y, Math.floor(y0));
  const w = Math.min(mask.x + mask.w, Math.ceil(x1)) - x;
  const h = Math.min(mask.y + mask.h, Math.ceil(y1)) - y;
  if (w <= 0 || h <= 0) return emptyMask();
  return trimMask(copyInto(mask, { x, y, w, h }));
}

/**
 * One connected region of a labelled image (`components`: one label a pixel, row-major, image
 * `width` wide) as a mask: the pixels labelled `label` inside its box [x, y, w, h].
 */
export function regionMask(components, width, label, [x, y, w, h]) {
  const data = new Uint8Array(w * h);
  for (let r = 0; r < h; r++) {
    const row = (y + r) * width + x;
    for (let c = 0; c < w; c++) if (components[row + c] === label) data[r * w + c] = 1;
  }
  return { x, y, w, h, data };
}

/**
 * The region with the most pixels inside box [x0, y0, x1, y1) (0 when none): `components` as
 * for regionMask.
 */
export function largestRegionIn(components, width, height, [x0, y0, x1, y1]) {
  const counts = new Map();
  const xa = Math.max(0, Math.floor(x0));
  const xb = Math.min(width, Math.ceil(x1));
  const ya = Math.max(0, Math.floor(y0));
  const yb = Math.min(height, Math.ceil(y1));
  for (let y = ya; y < yb; y++) {
    for (let x = xa; x < xb; x++) {
      const label = components[y * width + x];
      if (label) counts.set(label, (counts.get(label) ?? 0) + 1);
    }
  }
  let best = 0;
  let most = 0;
  for (const [label, n] of counts) if (n > most || (n === most && label < best)) [best, most] = [label, n];
  return best;
}

/** The box [x, y, w, h] of a brush segment (x0, y0) → (x1, y1) of `radius`, clipped to the image. */
export function strokeBox([x0, y0], [x1, y1], radius, width, height) {
  const r = Math.max(0.5, radius);
  const x = Math.max(0, Math.floor(Math.min(x0, x1) - r));
  const y = Math.max(0, Math.floor(Math.min(y0, y1) - r));
  return [x, y, Math.min(width, Math.ceil(Math.max(x0, x1) + r) + 1) - x, Math.min(height, Math.ceil(Math.max(y0, y1) + r) + 1) - y];
}

/**
 * `mask` itself when its box holds box [x, y, w, h], else a copy in a box grown to hold it with
 * `margin` pixels to spare on each side (clipped to the `width`×`height` image): room for a
 * brush stroke to paint in place.
 */
export function withRoom(mask, [x, y, w, h], width, height, margin = 0) {
  if (w <= 0 || h <= 0) return mask;
  if (!isEmpty(mask) && x >= mask.x && y >= mask.y && x + w <= mask.x + mask.w && y + h <= mask.y + mask.h) return mask;
  const want = unionBox(mask, { x, y, w, h });
  const bx = Math.max(0, want.x - margin);
  const by = Math.max(0, want.y - margin);
  return copyInto(mask, {
    x: bx, y: by, w: Math.min(width, want.x + want.w + margin) - bx, h: Math.min(height, want.y + want.h + margin) - by,
  });
}

/**
 * Paints a brush segment into `mask` in place (`value` 1 sets, 0 clears), within the mask's box
 * only (see withRoom). Returns the box [x, y, w, h] it may have changed.
 */
export function paintSegment(mask, [x0, y0], [x1, y1], radius, value) {
  const r = Math.max(0.5, radius);
  const [bx, by, bw, bh] = strokeBox([x0, y0], [x1, y1], r, mask.x + mask.w, mask.y + mask.h);
  const xa = Math.max(bx, mask.x);
  const xb = Math.min(bx + bw, mask.x + mask.w);
  const ya = Math.max(by, mask.y);
  const yb = Math.min(by + bh, mask.y + mask.h);
  const dx = x1 - x0;
  const dy = y1 - y0;
  const length2 = dx * dx + dy * dy;
  const r2 = r * r;
  const set = value ? 1 : 0;
  for (let y = ya; y < yb; y++) {
    const row = (y - mask.y) * mask.w - mask.x;
    for (let x = xa; x < xb; x++) {
      // The pixel's centre against the nearest point of the segment.
      const px = x + 0.5;
      const py = y + 0.5;
      const t = length2 ? Math.max(0, Math.min(1, ((px - x0) * dx + (py - y0) * dy) / length2)) : 0;
      const ex = px - (x0 + t * dx);
      const ey = py - (y0 + t * dy);
      if (ex * ex + ey * ey <= r2) mask.data[row + x] = set;
    }
  }
  return [xa, ya, Math.max(0, xb - xa), Math.max(0, yb - ya)];
}

/**
 * A brush stroke: discs of `radius` pixels along the segment (x0, y0) → (x1, y1), set
 * (`value` 1, the brush) or cleared (0, the eraser) in `mask`, clipped to the `width`×`height`
 * image. The brush grows the mask's box as needed; the result is trimmed.
 */
export function stroke(mask, from, to, radius, value, width, height) {
  const box = strokeBox(from, to, radius, width, height);
  if (box[2] <= 0 || box[3] <= 0) return mask;
  if (!value && isEmpty(mask)) return mask;
  const out = value ? withRoom(mask, box, width, height) : mask;
  const copy = out === mask ? copyInto(mask, mask) : out;
  paintSegment(copy, from, to, radius, value);
  return trimMask(copy);
}

/** The mask as a full-size row-major Uint8Array (for a visual prompt). */
export function fullMask(mask, width, height) {
  const full = new Uint8Array(width * height);
  for (let y = 0; y < mask.h; y++) {
    const yy = mask.y + y;
    if (yy < 0 || yy >= height) continue;
    for (let x = 0; x < mask.w; x++) {
      const xx = mask.x + x;
      if (xx >= 0 && xx < width && mask.data[y * mask.w + x]) full[yy * width + xx] = 1;
    }
  }
  return full;
}

/** A full-size row-major mask (nonzero = set) as a tight crop. */
export function cropOf(full, width, height) {
  return trimMask({ x: 0, y: 0, w: width, h: height, data: Uint8Array.from(full, (v) => (v ? 1 : 0)) });
}

/** [x, y, w, h] of the mask's set pixels (COCO's bbox), or [0, 0, 0, 0]. */
export function bboxOf(mask) {
  const t = trimMask(mask);
  return isEmpty(t) ? [0, 0, 0, 0] : [t.x, t.y, t.w, t.h];
}
