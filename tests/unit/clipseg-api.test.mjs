// The JS API's own logic: visual-prompt masks follow a scaled-down image.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { resampleNearest } from '../../www/clipseg.js';

test('a mask resized by nearest neighbour keeps the pixel under each centre', () => {
  // 4×2 → 2×1: the output centres fall on source pixels (1, 1) and (3, 1).
  const mask = Uint8Array.from([1, 1, 1, 1, 0, 1, 0, 0]);
  assert.deepEqual([...resampleNearest(mask, 4, 2, 2, 1)], [1, 0]);
  // Upscaling repeats pixels: 2×1 → 4×2.
  assert.deepEqual([...resampleNearest(Uint8Array.from([1, 0]), 2, 1, 4, 2)], [1, 1, 0, 0, 1, 1, 0, 0]);
  // Same size: the same bytes.
  assert.deepEqual([...resampleNearest(mask, 4, 2, 4, 2)], [...mask]);
});

test('an odd scale keeps every output inside the source', () => {
  const width = 7;
  const height = 5;
  const mask = Uint8Array.from({ length: width * height }, (_, i) => i % 3 === 0);
  const out = resampleNearest(mask, width, height, 3, 2);
  assert.equal(out.length, 6);
  for (let y = 0; y < 2; y++) {
    for (let x = 0; x < 3; x++) {
      const sx = Math.floor(((x + 0.5) * width) / 3);
      const sy = Math.floor(((y + 0.5) * height) / 2);
      assert.equal(out[y * 3 + x], mask[sy * width + sx]);
    }
  }
});
