// A web app using the package as its README shows, type-checked (never run) against the hand-written
// declarations by tests/unit/types.test.mjs, and against the packed package by
// tests/e2e/package.test.mjs. It reads every export and every field of every result, so a
// declaration that drifts from the code breaks here; the `@ts-expect-error` lines are calls the API
// rejects, which the types must reject too.
import {
  ERROR_KINDS, MAX_SIDE, MODEL_KINDS, Segmenter, SegmenterError, listModels, resampleNearest,
  type Backend, type Box, type DownloadProgress, type EncodedImage, type ErrorKind, type ImageInfo, type ImageSource,
  type LoadOptions, type ModelEntry, type ModelErrorKind, type SegmentRequest, type SegmentResult,
  type SegmenterEvent, type TextPrompt, type VisualPrompt,
} from 'clipseg-web';
import {
  Labels, type ClassMask, type ClassMaskRequest, type CocoAnnotation, type CocoCategory, type CocoDataset,
  type CocoImage, type CocoRle, type CocoRleAnnotation, type CocoRleDataset, type ExportOptions, type MaskCrop,
} from 'clipseg-web/labels';

const log: string[] = [];
const note = (...values: unknown[]) => log.push(values.map(String).join(' '));

export async function firstModel(): Promise<ModelEntry | undefined> {
  const [model] = await listModels(new URL('models/manifest.json', location.href));
  if (model) note(model.id, model.url, model.tokenizer, model.dtype, model.bytes.toFixed(0));
  return (await listModels())[0];
}

export async function load(model: ModelEntry): Promise<Segmenter> {
  const options: LoadOptions = {
    modelUrl: model.url,
    tokenizerUrl: model.tokenizer,
    backend: 'auto',
    onProgress: ({ file, loaded, total }: DownloadProgress) => note(file, loaded / total),
    onEvent: ({ type, message }: SegmenterEvent) => note(type === 'recovered' ? 'back' : 'lost', message),
  };
  const segmenter = await Segmenter.load(options);
  const backend: Backend = segmenter.backend;
  note(backend, segmenter.adapter, segmenter.inputSize, segmenter.logitsSize, segmenter.cached);
  // @ts-expect-error: an unknown backend
  await Segmenter.load({ modelUrl: model.url, backend: 'gpu' });
  // @ts-expect-error: a model URL is required
  await Segmenter.load({ backend: 'cpu' });
  // @ts-expect-error: made by Segmenter.load only
  new Segmenter();
  return segmenter;
}

const sizes = (image: ImageInfo) => [image.width, image.height, image.originalWidth, image.originalHeight, image.scaled];

export async function segmentFile(segmenter: Segmenter, file: File, next: ImageBitmap, pixels: ImageData) {
  const encoded: EncodedImage = await segmenter.setImage(file);
  note(...sizes(encoded), encoded.timings.encode_ms);
  await segmenter.encode(next, { key: 'next' });
  await segmenter.setImage(next, { key: 'next' });
  const current: ImageInfo | null = segmenter.image;
  if (current) note(...sizes(current));
  // @ts-expect-error: encode needs a key
  await segmenter.encode(pixels);

  const prompts: TextPrompt[] = ['a cat', ['a flag', 'the stars and stripes']];
  const texts: SegmentResult = await segmenter.segment({ prompts });
  const { logits, count, size, timings } = texts;
  note(logits.length === count * size * size, timings.total_ms);

  const box: Box = [10, 20, 200, 180];
  const example: ImageSource = pixels;
  const { width, height } = await segmenter.setExample(example);
  note(width, height);
  const visuals: VisualPrompt[] = [
    { box },
    { box, image: example },
    { mask: new Uint8Array(width * height), image: example },
    { image: file },
    {},
  ];
  for (const visual of visuals) {
    const request: SegmentRequest = { prompts: ['a cat'], visual, mix: 0.3 };
    note((await segmenter.segment(request)).count);
  }
  await segmenter.segment();
  // @ts-expect-error: a box or a mask, not both
  await segmenter.segment({ visual: { box, mask: new Uint8Array(4) } });
  // @ts-expect-error: a box is four numbers
  await segmenter.segment({ visual: { box: [1, 2, 3] } });
  // @ts-expect-error: prompts are text
  await segmenter.segment({ prompts: [42] });
  segmenter.dispose();
}

export function explain(error: unknown): string {
  if (!(error instanceof SegmenterError)) throw error;
  const kind: ErrorKind = error.kind;
  const modelKinds: readonly ModelErrorKind[] = MODEL_KINDS;
  const fixable = error.model && modelKinds.some((k) => k === kind);
  // @ts-expect-error: not a kind
  if (error.kind === 'downlod') return 'never';
  // @ts-expect-error: kinds are fixed
  new SegmenterError('wrong', { kind: 'oops' });
  const made = new SegmenterError('no image', { kind: 'usage' });
  return `${error.name} ${made.message} ${fixable} of ${ERROR_KINDS.length}`;
}

export function maskAt(mask: Uint8Array, width: number, height: number): Uint8Array {
  const scale = Math.min(1, MAX_SIDE / Math.max(width, height));
  return resampleNearest(mask, width, height, Math.round(width * scale), Math.round(height * scale));
}

export async function label(result: SegmentResult, image: CocoImage, worker?: Worker): Promise<Blob> {
  const labels = new Labels(worker);
  const request: ClassMaskRequest = {
    logits: result.logits.subarray(0, result.size ** 2), size: result.size, width: image.width, height: image.height,
    threshold: 0.5,
  };
  const regions: ClassMask = await labels.classMask(request);
  const { components, areas, boxes } = regions;
  note(regions.count, components.length, areas[1], boxes.subarray(4, 8).join());
  const mask = Uint8Array.from(components, (l) => (l > 0 ? 1 : 0));
  const counts: string = await labels.encodeRle(mask, image.width, image.height);
  const decoded: Uint8Array = await labels.decodeRle(counts, image.width, image.height);
  const crop: MaskCrop = await labels.decodeCrop(counts, image.width, image.height);
  note(decoded.length, crop.x, crop.y, crop.w, crop.h, crop.data.length);
  note(await labels.encodeCrop(crop, image.width, image.height));
  const category: CocoCategory = { id: 1, name: 'cat', supercategory: 'animal' };
  const rle: CocoRle = { size: [image.height, image.width], counts };
  const annotation: CocoAnnotation = { id: 1, image_id: image.id, category_id: category.id, segmentation: rle };
  const dataset: CocoDataset = { images: [image], categories: [category], annotations: [annotation] };
  const imported: CocoRleDataset = await labels.importCoco(JSON.stringify(dataset));
  const first: CocoRleAnnotation | undefined = imported.annotations[0];
  if (first) note(first.segmentation.counts, first.area, first.bbox.join(), first.iscrowd, image.file_name);
  const options: ExportOptions = { formats: ['coco', 'png'], segmentation: 'auto' };
  // @ts-expect-error: not a format
  await labels.exportZip(dataset, { formats: ['voc'] });
  const zip = await labels.exportZip(imported, options);
  labels.dispose();
  return zip;
}
