// The labelling page's masks (www/label/mask.js, www/label/rle.js): COCO's compressed RLE against
// pycocotools' own answers (fixtures/labels/pycocotools.json), crop arithmetic (merge, cut, clip,
// regions) and brush strokes against straightforward full-size formulas.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  areaOf, bboxOf, clipMask, copyMask, cropOf, emptyMask, fullMask, isEmpty, largestRegionIn, maskHas, overlapArea,
  paintSegment, regionMask, stroke, strokeBox, subtractMasks, trimMask, unionMasks, withRoom,
} from '../../www/label/mask.js';
import { compressCounts, cropToCounts, decodeMask, decompressCounts, encodeMask } from '../../www/label/rle.js';

const FIXTURES = JSON.parse(readFileSync(new URL('../../fixtures/labels/pycocotools.json', import.meta.url), 'utf8'));

// Row-major runs (background first) → a full-size 0/1 mask.
function fromRuns(runs, width, height) {
  const full = new Uint8Array(width * height);
  let at = 0;
  runs.forEach((n, i) => {
    if (i & 1) full.fill(1, at, at + n);
    at += n;
  });
  return full;
}

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

test('compressed RLE strings are pycocotools’ for its masks', () => {
  for (const m of FIXTURES.masks) {
    const full = fromRuns(m.runs, m.width, m.height);
    const crop = cropOf(full, m.width, m.height);
    assert.equal(encodeMask(crop, m.width, m.height), m.counts, `${m.width}×${m.height}`);
    assert.deepEqual(cropToCounts(crop, m.width, m.height), m.uncompressed);
    assert.equal(areaOf(crop), m.area);
    assert.deepEqual(bboxOf(crop), m.bbox);
    same(fullMask(decodeMask(m.counts, m.width, m.height), m.width, m.height), full);
  }
});

test('pycocotools’ strings decode to its masks', () => {
  for (const s of FIXTURES.strings) {
    const crop = decodeMask(s.counts, s.width, s.height);
    same(fullMask(crop, s.width, s.height), fromRuns(s.runs, s.width, s.height));
    assert.equal(areaOf(crop), s.area);
    assert.deepEqual(bboxOf(crop), s.bbox);
    assert.equal(encodeMask(crop, s.width, s.height), s.counts, 'and back');
  }
});

test('RLE of crops: any box, full-height crops whose runs cross columns, empty and full masks', () => {
  for (const [w, h, seed] of [[13, 9, 1], [1, 7, 2], [9, 1, 3], [40, 31, 4]]) {
    const full = randomMask(w, h, seed);
    const crop = cropOf(full, w, h);
    const padded = { x: 0, y: 0, w, h, data: full }; // not trimmed: the same runs
    assert.equal(encodeMask(padded, w, h), encodeMask(crop, w, h));
    same(fullMask(decodeMask(encodeMask(crop, w, h), w, h), w, h), full);
  }
  assert.equal(encodeMask(emptyMask(), 5, 4), compressCounts([20]));
  const all = { x: 0, y: 0, w: 5, h: 4, data: new Uint8Array(20).fill(1) };
  assert.deepEqual(decompressCounts(encodeMask(all, 5, 4)), [0, 20]);
  assert.ok(isEmpty(decodeMask(compressCounts([20]), 5, 4)));
  assert.throws(() => decodeMask(compressCounts([19]), 5, 4), /cover 19 pixels/);
  assert.throws(() => decompressCounts('\u0001'), /invalid character/);
});

test('large counts and negative differences survive compression', () => {
  const counts = [5_000_000, 3, 90_000_000, 1, 2, 700_000];
  assert.deepEqual(decompressCounts(compressCounts(counts)), counts);
});

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
