// COCO's compressed RLE of the page's instance masks, which live in the page as crops (the pixels
// of their box, see mask.js) and in the project, the undo history and IndexedDB as RLE strings
// of the whole image. The codec is the Rust labels library (crate/src/labels: the code the CLI
// and the export run, checked against pycocotools), instantiated on the page's own thread:
// drawing and editing read masks synchronously, so a worker round trip would not do. Its cost
// is the crop's pixels, never the image's.
//
// `rleReady()` must resolve before the first encode or decode (app.js awaits it before it
// restores the project). Unit tests install a codec of their own with `useCodec`.
let codec = null;

/** Instantiates the wasm library (once) and makes it the codec. */
export async function rleReady() {
  if (codec) return;
  const wasm = await import('../../pkg/clipseg.js');
  await wasm.default();
  codec = {
    encode: ({ x, y, w, h, data }, width, height) => wasm.encodeRleCrop(data, x, y, w, h, width, height),
    decode: (counts, width, height) => {
      const { x, y, w, h, data } = wasm.decodeRleCrop(counts, width, height);
      return { x, y, w, h, data };
    },
  };
}

/** Makes `{ encode(crop, width, height), decode(counts, width, height) }` the codec (tests). */
export function useCodec(replacement) {
  codec = replacement;
}

function ready() {
  if (!codec) throw new Error('the RLE codec is not loaded yet (await rleReady())');
  return codec;
}

/** A crop mask ({ x, y, w, h, data }) of a `width`×`height` image → compressed RLE counts. */
export const encodeMask = (mask, width, height) => ready().encode(mask, width, height);

/** Compressed RLE counts → the tight crop mask of their foreground. Throws on bad counts. */
export const decodeMask = (counts, width, height) => ready().decode(counts, width, height);
