// The page's pixel arithmetic (www/overlay.js) against straightforward formulas: bilinear
// upsampling as torch's interpolate(align_corners=False), the float32 sigmoid threshold of the
// masks, and the overlay colours.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Plane, Resizer, logitOf, maskRows, renderOverlay, rgbOf, sigmoid } from '../../www/overlay.js';

// Bilinear, align_corners=False, in float64: source coordinate (o + ½)·in/out − ½, clamped at 0.
function bilinear(src, srcW, srcH, dstW, dstH, x, y) {
  const coord = (o, inLen, outLen) => {
    const at = Math.max(0, ((o + 0.5) * inLen) / outLen - 0.5);
    const i0 = Math.min(Math.floor(at), inLen - 1);
    return [i0, Math.min(i0 + 1, inLen - 1), at - i0];
  };
  const [x0, x1, fx] = coord(x, srcW, dstW);
  const [y0, y1, fy] = coord(y, srcH, dstH);
  const at = (xx, yy) => src[yy * srcW + xx];
  const top = at(x0, y0) * (1 - fx) + at(x1, y0) * fx;
  const bottom = at(x0, y1) * (1 - fx) + at(x1, y1) * fx;
  return top * (1 - fy) + bottom * fy;
}

// A deterministic plane of logits in about [-8, 8].
function plane(w, h, seed = 1) {
  const data = new Float32Array(w * h);
  let s = seed;
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    data[i] = (s / 2 ** 31) * 16 - 8;
  }
  return data;
}

for (const [srcW, srcH, dstW, dstH] of [[8, 8, 21, 13], [11, 7, 11, 7], [16, 12, 5, 9], [1, 3, 4, 4]]) {
  test(`Resizer ${srcW}×${srcH} → ${dstW}×${dstH} is bilinear, align_corners=False`, () => {
    const src = plane(srcW, srcH);
    const resizer = new Resizer(src, srcW, srcH, dstW, dstH);
    const kept = new Plane(src, srcW, srcH, dstW, dstH);
    for (let y = 0; y < dstH; y++) {
      const row = resizer.row(y);
      assert.equal(row.length, dstW);
      for (let x = 0; x < dstW; x++) {
        const expected = bilinear(src, srcW, srcH, dstW, dstH, x, y);
        assert.ok(Math.abs(row[x] - expected) <= 1e-5 * Math.max(1, Math.abs(expected)), `(${x}, ${y}): ${row[x]} vs ${expected}`);
        assert.equal(kept.row(y)[x], row[x], 'Plane keeps the same rows');
        assert.ok(Math.abs(resizer.probRow(y)[x] - 1 / (1 + Math.exp(-row[x]))) < 1e-6, 'probabilities');
      }
    }
  });
}

test('rows can be read in any order', () => {
  const src = plane(6, 6, 7);
  const forward = new Resizer(src, 6, 6, 9, 9);
  const rows = Array.from({ length: 9 }, (_, y) => Float32Array.from(forward.row(y)));
  const shuffled = new Resizer(src, 6, 6, 9, 9);
  for (const y of [8, 0, 4, 3, 7, 1]) assert.deepEqual(Float32Array.from(shuffled.row(y)), rows[y], `row ${y}`);
});

test('sigmoid is float32, logitOf inverts it', () => {
  assert.equal(sigmoid(0), 0.5);
  assert.equal(sigmoid(2), Math.fround(1 / Math.fround(1 + Math.fround(Math.exp(-2)))));
  for (const t of [0.1, 0.5, 0.73]) assert.ok(Math.abs(1 / (1 + Math.exp(-logitOf(t))) - t) < 1e-12);
  assert.equal(logitOf(0), -Infinity);
  assert.equal(logitOf(1), Infinity);
});

test('mask rows: 255 exactly where the float32 sigmoid is above the threshold, union of layers', () => {
  for (const threshold of [0.5, 0.3, 0.9, 0, 1]) {
    const t = Math.fround(threshold);
    const cut = logitOf(threshold);
    // Values right at the cut, where a fast comparison on logits could disagree with the sigmoid.
    const near = Number.isFinite(cut) ? Array.from({ length: 40 }, (_, i) => Math.fround(cut + (i - 20) * 2e-8)) : [];
    const values = Float32Array.from([...near, -9, -1, 0, 1e-7, 0.5, 3, 9, ...plane(3, 3, threshold * 100 + 3)]);
    const width = values.length;
    const a = new Resizer(values, width, 1, width, 2); // two identical rows
    const zeros = new Resizer(new Float32Array(width).fill(-50), width, 1, width, 2);
    const out = new Uint8Array(width * 2).fill(7);
    maskRows([zeros, a], threshold, 0, 2, out);
    for (let x = 0; x < width; x++) {
      const expected = sigmoid(values[x]) > t ? 255 : 0;
      assert.equal(out[x], expected, `threshold ${threshold}, logit ${values[x]}`);
      assert.equal(out[width + x], expected);
    }
  }
});

test('mask rows of a band start at its first row', () => {
  const src = Float32Array.from([-5, 5, 5, -5]); // 2×2: a diagonal
  const resizer = new Resizer(src, 2, 2, 2, 2);
  const out = new Uint8Array(2);
  maskRows([resizer], 0.5, 1, 2, out);
  assert.deepEqual([...out], [255, 0]);
});

test('the overlay: the layer colour at opacity inside a mask, stronger at its edge, nothing outside', () => {
  const size = 5;
  const logits = new Float32Array(size * size).fill(-10);
  for (let y = 1; y <= 3; y++) for (let x = 1; x <= 3; x++) logits[y * size + x] = 10;
  const layer = { resizer: new Plane(logits, size, size, size, size), rgb: rgbOf('#ff8000') };
  assert.deepEqual(layer.rgb, [255, 128, 0]);
  const out = new Uint8ClampedArray(size * size * 4);
  renderOverlay({ layers: [layer], width: size, height: size, mode: 'mask', threshold: 0.5, opacity: 0.5, out });
  const px = (x, y) => [...out.subarray((y * size + x) * 4, (y * size + x) * 4 + 4)];
  assert.deepEqual(px(0, 0), [0, 0, 0, 0], 'outside');
  assert.deepEqual(px(2, 2), [255, 128, 0, Math.round(0.5 * 255)], 'inside');
  assert.deepEqual(px(1, 2), [255, 128, 0, Math.round(Math.fround(0.5 * 1.8) * 255)], 'edge: alpha 1.8 × opacity (float32)');
  const heat = new Uint8ClampedArray(size * size * 4);
  renderOverlay({ layers: [layer], width: size, height: size, mode: 'heatmap', threshold: 0.5, opacity: 1, out: heat });
  assert.equal(heat[(2 * size + 2) * 4 + 3], Math.round(255 * (1 / (1 + Math.exp(-10)))), 'heatmap alpha is p · opacity');
});
