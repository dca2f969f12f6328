// The page's pixel work, shared by the main thread (the overlay at display size) and the export
// worker (masks at the original size, composites): bilinear upsampling of the model's logits
// (logitsSize × logitsSize: 352 for the CIDAS checkpoints), the sigmoid, and the colouring of
// mask and heatmap views.
//
// The upsampling is torch's `interpolate(mode="bilinear", align_corners=False)` without
// antialiasing, computed in float32 step by step as the native CLI does (crate/src/imaging.rs,
// `resize_plane`), so a mask downloaded here is the CLI's `--mask` of the same logits.

const f32 = Math.fround;

/** Per output coordinate: the two source taps, the weight of the second and of the first. */
function taps(srcLen, dstLen) {
  const i0s = new Int32Array(dstLen);
  const i1s = new Int32Array(dstLen);
  const w1s = new Float32Array(dstLen);
  const w0s = new Float32Array(dstLen);
  const scale = f32(srcLen / dstLen);
  for (let o = 0; o < dstLen; o++) {
    const at = Math.max(0, f32(f32(f32(o + 0.5) * scale) - 0.5));
    const i0 = Math.min(Math.floor(at), srcLen - 1);
    const fx = f32(at - i0);
    i0s[o] = i0;
    i1s[o] = Math.min(i0 + 1, srcLen - 1);
    w1s[o] = fx;
    w0s[o] = f32(1 - fx);
  }
  return { i0s, i1s, w1s, w0s };
}

/**
 * Upsamples one row-major `srcW`×`srcH` plane to `dstW`×`dstH`, a row at a time: `row(y)` gives
 * output row `y` (a Float32Array that the next call may reuse). Memory stays at a few rows, so
 * a mask of a 12000×8000 photo needs no 384 MB buffer.
 */
export class Resizer {
  constructor(src, srcW, srcH, dstW, dstH) {
    Object.assign(this, { src, srcW, srcH, dstW, dstH });
    this.xs = taps(srcW, dstW);
    this.ys = taps(srcH, dstH);
    // Horizontally resized source rows; rows i and i + 1 never share a slot.
    this.slots = [{ index: -1, data: new Float32Array(dstW) }, { index: -1, data: new Float32Array(dstW) }];
    this.out = new Float32Array(dstW);
  }

  #horizontal(index) {
    const slot = this.slots[index & 1];
    if (slot.index === index) return slot.data;
    const { i0s, i1s, w0s, w1s } = this.xs;
    const { src, srcW, dstW } = this;
    const base = index * srcW;
    const data = slot.data;
    for (let x = 0; x < dstW; x++) {
      data[x] = f32(src[base + i0s[x]] * w0s[x]) + f32(src[base + i1s[x]] * w1s[x]);
    }
    slot.index = index;
    return data;
  }

  row(y) {
    const { i0s, i1s, w0s, w1s } = this.ys;
    const top = this.#horizontal(i0s[y]);
    const bottom = this.#horizontal(i1s[y]);
    const w0 = w0s[y];
    const w1 = w1s[y];
    const out = this.out;
    for (let x = 0, n = this.dstW; x < n; x++) out[x] = f32(top[x] * w0) + f32(bottom[x] * w1);
    return out;
  }

  /** Row `y` as probabilities (the sigmoid of the logits). */
  probRow(y) {
    const row = this.row(y);
    this.probs ??= new Float32Array(this.dstW);
    for (let x = 0, n = this.dstW; x < n; x++) this.probs[x] = 1 / (1 + Math.exp(-row[x]));
    return this.probs;
  }
}

/**
 * The same rows, computed once and kept: for the display, which is redrawn on every slider move.
 * Probabilities are computed on first use (the heatmap).
 */
export class Plane {
  constructor(src, srcW, srcH, dstW, dstH) {
    const resizer = new Resizer(src, srcW, srcH, dstW, dstH);
    this.dstW = dstW;
    this.dstH = dstH;
    this.data = new Float32Array(dstW * dstH);
    for (let y = 0; y < dstH; y++) this.data.set(resizer.row(y), y * dstW);
    this.probs = null;
  }

  row(y) {
    return this.data.subarray(y * this.dstW, (y + 1) * this.dstW);
  }

  probRow(y) {
    if (!this.probs) {
      const { data } = this;
      this.probs = new Float32Array(data.length);
      for (let i = 0; i < data.length; i++) this.probs[i] = 1 / (1 + Math.exp(-data[i]));
    }
    return this.probs.subarray(y * this.dstW, (y + 1) * this.dstW);
  }
}

/** The sigmoid in float32, as the CLI computes it. */
export function sigmoid(x) {
  return f32(1 / f32(1 + f32(Math.exp(-x))));
}

/** The logit above which sigmoid(logit) > threshold (for fast display masks). */
export function logitOf(threshold) {
  if (threshold <= 0) return -Infinity;
  if (threshold >= 1) return Infinity;
  return Math.log(threshold / (1 - threshold));
}

/**
 * Writes rows [y0, y1) of a binary mask (0 or 255, one byte a pixel): a pixel is 255 where
 * `sigmoid(logit) > threshold` for any of `resizers` (the union of the layers), exactly as the
 * CLI's `--mask` for one layer. `out` holds (y1 − y0) × width bytes.
 */
export function maskRows(resizers, threshold, y0, y1, out) {
  const t = f32(threshold);
  const width = resizers[0].dstW;
  // Far from the threshold's logit the answer is clear; near it, the exact float32 sigmoid decides.
  const cut = t > 0 && t < 1 ? logitOf(t) : NaN;
  const above = Number.isNaN(cut) ? Infinity : cut + 1e-3;
  const below = Number.isNaN(cut) ? -Infinity : cut - 1e-3;
  out.fill(0, 0, (y1 - y0) * width);
  for (const resizer of resizers) {
    for (let y = y0; y < y1; y++) {
      const row = resizer.row(y);
      const base = (y - y0) * width;
      for (let x = 0; x < width; x++) {
        const l = row[x];
        if (out[base + x] !== 0 || l < below) continue;
        if (l > above || sigmoid(l) > t) out[base + x] = 255;
      }
    }
  }
}

/** '#rrggbb' to [r, g, b]. */
export function rgbOf(hex) {
  const value = parseInt(hex.slice(1), 16);
  return [(value >> 16) & 255, (value >> 8) & 255, value & 255];
}

/**
 * Renders the overlay rows [y0, y1) into `out` (RGBA, non-premultiplied, (y1 − y0) × width × 4).
 * layers: [{ resizer (a Resizer or a Plane), rgb: [r, g, b] }] in drawing order (later on top).
 * mode 'mask': pixels with p > threshold in the layer's colour at `opacity`, with a stronger
 *   outline along the mask's edge. mode 'heatmap': the layer's colour with alpha p · opacity.
 */
export function renderOverlay({ layers, width, height, mode, threshold, opacity, y0 = 0, y1 = height, out }) {
  out.fill(0, 0, (y1 - y0) * width * 4);
  if (!layers.length || opacity <= 0) return;
  const heatmap = mode === 'heatmap';
  const cut = logitOf(threshold);
  const edgeAlpha = Math.min(1, opacity * 1.8);
  // Premultiplied accumulators of one output row.
  const accR = new Float32Array(width);
  const accG = new Float32Array(width);
  const accB = new Float32Array(width);
  const accA = new Float32Array(width);
  // Mask rows above, at and below the current one, per layer (for the outline).
  const masks = layers.map(() => [new Uint8Array(width), new Uint8Array(width), new Uint8Array(width)]);
  const maskOf = (layer, y, into) => {
    const row = layer.resizer.row(Math.min(height - 1, Math.max(0, y)));
    for (let x = 0; x < width; x++) into[x] = row[x] > cut ? 1 : 0;
  };
  if (!heatmap) {
    layers.forEach((layer, i) => {
      maskOf(layer, y0 - 1, masks[i][0]);
      maskOf(layer, y0, masks[i][1]);
    });
  }
  for (let y = y0; y < y1; y++) {
    accR.fill(0);
    accG.fill(0);
    accB.fill(0);
    accA.fill(0);
    for (let i = 0; i < layers.length; i++) {
      const [r, g, b] = layers[i].rgb;
      if (heatmap) {
        const probs = layers[i].resizer.probRow(y);
        for (let x = 0; x < width; x++) {
          const a = opacity * probs[x];
          if (a === 0) continue;
          const keep = 1 - a;
          accR[x] = r * a + accR[x] * keep;
          accG[x] = g * a + accG[x] * keep;
          accB[x] = b * a + accB[x] * keep;
          accA[x] = a + accA[x] * keep;
        }
        continue;
      }
      const m = masks[i];
      maskOf(layers[i], y + 1, m[2]);
      const [above, here, below] = m;
      for (let x = 0; x < width; x++) {
        if (!here[x]) continue;
        const left = x > 0 ? here[x - 1] : 1;
        const right = x < width - 1 ? here[x + 1] : 1;
        const a = above[x] & below[x] & left & right ? opacity : edgeAlpha;
        const keep = 1 - a;
        accR[x] = r * a + accR[x] * keep;
        accG[x] = g * a + accG[x] * keep;
        accB[x] = b * a + accB[x] * keep;
        accA[x] = a + accA[x] * keep;
      }
      m.push(m.shift()); // below becomes here, here becomes above
    }
    const base = (y - y0) * width * 4;
    for (let x = 0; x < width; x++) {
      const a = accA[x];
      if (a <= 0) continue;
      const o = base + x * 4;
      out[o] = accR[x] / a;
      out[o + 1] = accG[x] / a;
      out[o + 2] = accB[x] / a;
      out[o + 3] = a * 255;
    }
  }
}
