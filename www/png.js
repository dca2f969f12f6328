// A small PNG writer for 8-bit grayscale images (the 0/255 masks), streamed row by row through
// the browser's zlib (CompressionStream 'deflate'), so a mask of any size needs no full-size
// RGBA canvas.

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(parts) {
  let c = 0xffffffff;
  for (const bytes of parts) {
    for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 255] ^ (c >>> 8);
  }
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const head = new Uint8Array(8);
  const view = new DataView(head.buffer);
  view.setUint32(0, data.length);
  const name = new TextEncoder().encode(type);
  head.set(name, 4);
  const tail = new Uint8Array(4);
  new DataView(tail.buffer).setUint32(0, crc32([name, data]));
  return [head, data, tail];
}

/**
 * Encodes a `width`×`height` 8-bit grayscale PNG. `fillRows(y0, y1, out)` writes rows [y0, y1)
 * (width bytes each) into `out`. Resolves to a Blob of type image/png.
 */
export async function grayscalePng(width, height, fillRows) {
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header[8] = 8; // bit depth
  header[9] = 0; // grayscale
  const compressor = new CompressionStream('deflate'); // zlib format, as PNG's IDAT wants
  const compressed = new Response(compressor.readable).arrayBuffer();
  const writer = compressor.writable.getWriter();
  const band = Math.max(1, Math.min(height, Math.floor((1 << 22) / (width + 1))));
  const rows = new Uint8Array(band * width);
  for (let y0 = 0; y0 < height; y0 += band) {
    const y1 = Math.min(height, y0 + band);
    fillRows(y0, y1, rows);
    const filtered = new Uint8Array((y1 - y0) * (width + 1)); // filter type 0 (none) per row
    for (let y = 0; y < y1 - y0; y++) filtered.set(rows.subarray(y * width, (y + 1) * width), y * (width + 1) + 1);
    await writer.write(filtered);
  }
  await writer.close();
  const idat = new Uint8Array(await compressed);
  const signature = new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]);
  return new Blob(
    [signature, ...chunk('IHDR', header), ...chunk('IDAT', idat), ...chunk('IEND', new Uint8Array(0))],
    { type: 'image/png' },
  );
}
