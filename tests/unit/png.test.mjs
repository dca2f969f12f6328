// The mask PNG writer (www/png.js), read back with node:zlib: signature, chunks and their CRCs,
// the header, one filter byte (0) per row, and the pixels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32, inflateSync } from 'node:zlib';
import { grayscalePng } from '../../www/png.js';

// Splits a PNG into its chunks, checking each CRC (over type and data) against zlib's.
function chunks(bytes) {
  assert.deepEqual([...bytes.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10], 'PNG signature');
  const out = [];
  for (let at = 8; at < bytes.length;) {
    const length = bytes.readUInt32BE(at);
    const type = bytes.toString('latin1', at + 4, at + 8);
    const data = bytes.subarray(at + 8, at + 8 + length);
    const crc = bytes.readUInt32BE(at + 8 + length);
    assert.equal(crc, crc32(bytes.subarray(at + 4, at + 8 + length)), `${type} CRC`);
    out.push({ type, data });
    at += 12 + length;
  }
  return out;
}

async function decode(blob) {
  assert.equal(blob.type, 'image/png');
  const parts = chunks(Buffer.from(await blob.arrayBuffer()));
  assert.deepEqual(parts.map((c) => c.type), ['IHDR', 'IDAT', 'IEND']);
  const [header, idat, end] = parts;
  assert.equal(end.data.length, 0);
  const h = header.data;
  const info = { width: h.readUInt32BE(0), height: h.readUInt32BE(4), depth: h[8], color: h[9], rest: [...h.subarray(10)] };
  return { info, raw: inflateSync(idat.data) };
}

// Rows as filled by the callback, whatever bands it is asked for.
const pattern = (width) => (y0, y1, out) => {
  for (let y = y0; y < y1; y++) for (let x = 0; x < width; x++) out[(y - y0) * width + x] = (x * 7 + y * 13) % 3 ? 255 : 0;
};

test('a small mask: header, filter bytes and pixels', async () => {
  const width = 5;
  const height = 3;
  const { info, raw } = await decode(await grayscalePng(width, height, pattern(width)));
  assert.deepEqual(info, { width, height, depth: 8, color: 0, rest: [0, 0, 0] }, '8-bit grayscale, no interlace');
  assert.equal(raw.length, height * (width + 1));
  for (let y = 0; y < height; y++) {
    assert.equal(raw[y * (width + 1)], 0, `row ${y} filter type`);
    for (let x = 0; x < width; x++) {
      assert.equal(raw[y * (width + 1) + 1 + x], (x * 7 + y * 13) % 3 ? 255 : 0, `pixel ${x},${y}`);
    }
  }
});

test('a mask taller than one band is written in bands, every row once', async () => {
  const width = 2000; // bands of (1 << 22) / 2001 = 2096 rows
  const height = 4500;
  const asked = [];
  const fill = pattern(width);
  const blob = await grayscalePng(width, height, (y0, y1, out) => {
    asked.push([y0, y1]);
    fill(y0, y1, out);
  });
  assert.ok(asked.length > 1, `${asked.length} bands`);
  assert.equal(asked[0][0], 0);
  asked.forEach(([y0, y1], i) => {
    assert.ok(y1 > y0, 'a band has rows');
    if (i) assert.equal(y0, asked[i - 1][1], 'bands follow one another');
  });
  assert.equal(asked.at(-1)[1], height);
  const { info, raw } = await decode(blob);
  assert.deepEqual([info.width, info.height], [width, height]);
  for (const y of [0, 2095, 2096, 2097, height - 1]) {
    assert.equal(raw[y * (width + 1)], 0);
    const row = raw.subarray(y * (width + 1) + 1, (y + 1) * (width + 1));
    const expected = new Uint8Array(width);
    fill(y, y + 1, expected);
    assert.deepEqual(new Uint8Array(row), expected, `row ${y}`);
  }
});

test('a 1×1 image', async () => {
  const { info, raw } = await decode(await grayscalePng(1, 1, (y0, y1, out) => out.fill(255)));
  assert.deepEqual([info.width, info.height], [1, 1]);
  assert.deepEqual([...raw], [0, 255]);
});
