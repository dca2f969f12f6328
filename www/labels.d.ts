// Types of clipseg-web's labelling library (www/labels.js), written by hand from what its worker
// (www/export-worker.js) and the wasm functions (crate/src/web_labels.rs, crate/src/labels/coco.rs)
// take and return. Every method rejects with a SegmenterError (from 'clipseg-web'), kind
// 'annotations' for a bad label file or mask. tests/unit/types.test.mjs checks the declarations.

/** One class's mask over the whole image, as its 8-connected regions (labels 1…count). */
export interface ClassMask {
  count: number;
  /** The region of each pixel, row-major: 0 outside the mask, else 1…count. */
  components: Uint32Array;
  /** Region l's area in pixels is areas[l] (areas[0] is 0). */
  areas: Uint32Array;
  /** Region l's COCO box [x, y, w, h] is boxes.subarray(4 * l, 4 * l + 4). */
  boxes: Uint32Array;
}

/** A mask kept as the crop of its box: w × h bytes at (x, y), nonzero = object. */
export interface MaskCrop {
  x: number;
  y: number;
  w: number;
  h: number;
  data: Uint8Array;
}

export interface CocoImage {
  id: number;
  file_name: string;
  width: number;
  height: number;
}

export interface CocoCategory {
  id: number;
  name: string;
  supercategory?: string;
}

/** COCO RLE: pycocotools' compressed counts string, or the plain list of runs. */
export interface CocoRle {
  size: [height: number, width: number];
  counts: string | number[];
}

export interface CocoAnnotation {
  id: number;
  image_id: number;
  category_id: number;
  /** Polygons (flat [x1, y1, x2, y2, …] lists, unioned) or an RLE. */
  segmentation: number[][] | CocoRle;
  /** Computed from the mask on export. */
  area?: number;
  /** Computed from the mask on export: [x, y, w, h]. */
  bbox?: [x: number, y: number, w: number, h: number];
  iscrowd?: number;
}

/** COCO instances. */
export interface CocoDataset {
  info?: unknown;
  images: CocoImage[];
  categories: CocoCategory[];
  annotations: CocoAnnotation[];
}

/** An annotation as `importCoco` gives it: compressed RLE, with its mask's area and box. */
export interface CocoRleAnnotation extends CocoAnnotation {
  segmentation: { size: [height: number, width: number]; counts: string };
  area: number;
  bbox: [x: number, y: number, w: number, h: number];
  iscrowd: number;
}

/** A COCO dataset as `importCoco` gives it. */
export interface CocoRleDataset extends CocoDataset {
  annotations: CocoRleAnnotation[];
}

export interface ClassMaskRequest {
  /** One size × size logits map (before sigmoid). */
  logits: Float32Array;
  size: number;
  /** The image's size: the mask is at this resolution. */
  width: number;
  height: number;
  /** On the sigmoid: the mask is where sigmoid(logit) > threshold (bilinear, as `clipseg segment --mask`). */
  threshold: number;
}

export interface ExportOptions {
  /** Each in its own folder of the zip; all three by default. */
  formats?: readonly ('coco' | 'yolo' | 'png')[];
  /** How COCO stores masks: 'rle' (exact, the default), 'polygons' (holes filled) or 'auto'. */
  segmentation?: 'rle' | 'polygons' | 'auto';
}

/** The labelling library, in its own worker: the Rust code `clipseg label` runs. */
export declare class Labels {
  /** Starts the labelling worker, or uses `worker` (one running www/export-worker.js). */
  constructor(worker?: Worker);

  /** The class mask of one logits map at the image's size, exactly as the CLI's `segment --mask`, as regions. */
  classMask(request: ClassMaskRequest): Promise<ClassMask>;

  /** A mask (one byte per pixel, row-major, nonzero = object) as compressed COCO RLE counts. */
  encodeRle(mask: Uint8Array, width: number, height: number): Promise<string>;

  /** Compressed COCO RLE counts back to a mask (one byte per pixel, 0/1). */
  decodeRle(counts: string, width: number, height: number): Promise<Uint8Array>;

  /** The crop of a mask's box on a width × height image → the image's compressed COCO RLE counts. */
  encodeCrop(crop: MaskCrop, width: number, height: number): Promise<string>;

  /** Compressed COCO RLE counts → the crop of the mask's box (all sizes 0 for an empty mask). */
  decodeCrop(counts: string, width: number, height: number): Promise<MaskCrop>;

  /** The dataset as one zip, each format's files in its own folder (coco/, yolo/, png/). */
  exportZip(dataset: CocoDataset, options?: ExportOptions): Promise<Blob>;

  /** Reads a COCO instances file's text: every segmentation as compressed RLE, areas and boxes computed. */
  importCoco(text: string): Promise<CocoRleDataset>;

  /** Stops the worker. */
  dispose(): void;
}
