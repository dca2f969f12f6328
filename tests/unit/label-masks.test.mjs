// The labelling page's masks (www/label/mask.js): crop arithmetic (merge, cut, clip, regions) and
// brush strokes against straightforward full-size formulas. (Their RLE is the Rust library's,
// tested against pycocotools in crate/tests/labels.rs and in the browser by tests/e2e.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  areaOf, clipMask, copyMask, cropOf, emptyMask, fullMask, isEmpty, largestRegionIn, maskHas, overlapArea,
  paintSegment, regionMask, stroke, strokeBox, subtractMasks, trimMask, unionMasks, withRoom,
} from '../../www/label/mask.js';

// A deterministic random full mask with blobs.
function randomMask(width, height, seed) {
  let s = seed;
  const next = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const full = new Uint8Array(width * height);
  for (let k = 0; k < 4; k++) {
    const cx = next() * width;
    const cy = next() * height;
    const r = 1 + next() * Math.min(width, height) * 0.3;
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) if ((x - cx) ** 2 + (y - cy) ** 2 < r * r) full[y * width + x] = 1;
  }
  for (let i = 0; i < full.length; i++) if (next() < 0.03) full[i] ^= 1;
  return full;
}

const same = (a, b) => assert.deepEqual(Array.from(a), Array.from(b));

test('merge, cut and overlap of crops are the full-size set operations', () => {
  const [w, h] = [30, 20];
  const a = randomMask(w, h, 7);
  const b = randomMask(w, h, 8);
  const ca = cropOf(a, w, h);
  const cb = cropOf(b, w, h);
  same(fullMask(unionMasks(ca, cb), w, h), a.map((v, i) => v | b[i]));
  same(fullMask(subtractMasks(ca, cb), w, h), a.map((v, i) => v & (1 - b[i])));
  assert.equal(overlapArea(ca, cb), a.reduce((n, v, i) => n + (v & b[i]), 0));
  same(fullMask(clipMask(ca, [5, 3, 17, 11]), w, h), a.map((v, i) => v && i % w >= 5 && i % w < 17 && Math.floor(i / w) >= 3 && Math.floor(i / w) < 11 ? 1 : 0));
  assert.ok(isEmpty(subtractMasks(ca, ca)));
  assert.equal(unionMasks(emptyMask(), cb).w, cb.w);
  const t = trimMask({ x: 2, y: 2, w: 4, h: 4, data: Uint8Array.from([0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0]) });
  assert.deepEqual([t.x, t.y, t.w, t.h], [3, 3, 2, 2]);
  assert.ok(maskHas(t, 3.7, 4.2) && !maskHas(t, 4, 3));
});

test('regions of a labelled image: one region as a crop, the largest inside a box', () => {
  const width = 6;
  const components = Uint32Array.from([
    1, 1, 0, 0, 2, 2,
    1, 0, 0, 2, 2, 2,
    0, 0, 3, 3, 0, 2,
  ]);
  const r2 = regionMask(components, width, 2, [3, 0, 3, 3]);
  same(r2.data, [0, 1, 1, 1, 1, 1, 0, 0, 1]);
  assert.equal(largestRegionIn(components, width, 3, [0, 0, 6, 3]), 2);
  assert.equal(largestRegionIn(components, width, 3, [0, 0, 3, 3]), 1);
  assert.equal(largestRegionIn(components, width, 3, [2, 2, 4, 3]), 3);
  assert.equal(largestRegionIn(components, width, 3, [2, 0, 3, 2]), 0);
});

test('a brush stroke sets the discs along its segment; the eraser clears them', () => {
  const [w, h] = [24, 16];
  const inDisc = (x, y, cx, cy, r) => (x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2 <= r * r;
  const dot = stroke(emptyMask(), [10, 8], [10, 8], 3, 1, w, h);
  const expected = new Uint8Array(w * h).map((_, i) => (inDisc(i % w, Math.floor(i / w), 10, 8, 3) ? 1 : 0));
  same(fullMask(dot, w, h), expected);
  assert.equal(areaOf(dot), expected.reduce((n, v) => n + v, 0));
  // A line covers both ends and the middle, and grows the box.
  const line = stroke(dot, [10, 8], [20, 8], 2, 1, w, h);
  assert.ok(maskHas(line, 20, 8) && maskHas(line, 15, 8) && maskHas(line, 10, 10));
  assert.ok(line.x + line.w >= 22);
  // Clipped to the image at its borders.
  const edge = stroke(emptyMask(), [0, 0], [0, 0], 4, 1, w, h);
  assert.equal(edge.x, 0);
  assert.equal(edge.y, 0);
  // The eraser removes exactly what it covers and never grows the mask.
  const erased = stroke(line, [15, 8], [15, 8], 2, 0, w, h);
  assert.ok(!maskHas(erased, 15, 8) && maskHas(erased, 10, 8));
  same(fullMask(stroke(erased, [15, 8], [15, 8], 2, 0, w, h), w, h), fullMask(erased, w, h));
  assert.ok(isEmpty(stroke(emptyMask(), [3, 3], [4, 4], 2, 0, w, h)));
});

test('a stroke painted in place, in a box grown with room to spare, is the pure stroke', () => {
  const [w, h] = [60, 40];
  const path = [[5, 5], [20, 8], [40, 30], [58, 39], [30, 20]];
  let pure = emptyMask();
  let live = copyMask(emptyMask());
  let grown = 0;
  for (let i = 1; i < path.length; i++) {
    pure = stroke(pure, path[i - 1], path[i], 3, 1, w, h);
    const before = live;
    live = withRoom(live, strokeBox(path[i - 1], path[i], 3, w, h), w, h, 8);
    if (live !== before) grown++;
    const dirty = paintSegment(live, path[i - 1], path[i], 3, 1);
    assert.ok(dirty[2] > 0 && dirty[3] > 0);
  }
  same(fullMask(trimMask(live), w, h), fullMask(pure, w, h));
  assert.ok(grown < path.length - 1, `reallocated ${grown} times`);
  assert.ok(live.x >= 0 && live.y >= 0 && live.x + live.w <= w && live.y + live.h <= h, 'the room stays inside the image');
  // The eraser in place, without growing.
  const erased = copyMask(live);
  paintSegment(erased, [20, 8], [40, 30], 2, 0);
  same(fullMask(trimMask(erased), w, h), fullMask(stroke(pure, [20, 8], [40, 30], 2, 0, w, h), w, h));
  assert.equal(areaOf(live), areaOf(pure), 'the copy was painted, not the original');
});
