// The page's RLE codec is the wasm labels library (www/label/rle.js), which needs the built site;
// the page's logic is tested without a build through this reversible stand-in. COCO RLE itself is
// tested in Rust against pycocotools (crate/tests/labels.rs) and in the browser (tests/e2e/).
import { trimMask } from '../../www/label/mask.js';
import { useCodec } from '../../www/label/rle.js';

useCodec({
  encode: ({ x, y, w, h, data }, width, height) => JSON.stringify({ width, height, x, y, w, h, data: [...data] }),
  decode: (counts, width, height) => {
    const crop = JSON.parse(counts);
    if (crop.width !== width || crop.height !== height) throw new Error(`counts of a ${crop.width}×${crop.height} mask`);
    return trimMask({ x: crop.x, y: crop.y, w: crop.w, h: crop.h, data: Uint8Array.from(crop.data) });
  },
});
