// The labelling page's engine in headless Chromium, checked against the native CLI on the same
// model and photos: keyed encoded images give each image's own logits, a class mask and its
// regions are the CLI's `segment --mask` pixel for pixel, a mask prompt is the CLI's
// `--visual-mask`, and the zip the page exports holds the instances `clipseg label` writes.
// Needs `dist/` built with the tiny fixture model staged (scripts/test.sh does that).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { CLI, REPO, launch, readNpy, relativeL2, serve } from './harness.mjs';

const MODEL_DIR = join(REPO, 'models', 'tiny-refined');
const PHOTOS = { chelsea: join(REPO, 'fixtures', 'images', 'chelsea.png'), rocket: join(REPO, 'fixtures', 'images', 'rocket.jpg') };
const PROMPT = 'a cat';
const PHRASINGS = [PROMPT, 'a kitten on a sofa']; // one class, its text conditionals averaged
const THRESHOLD = 0.5;
const TOLERANCE = 1e-4; // relative L2 on logits, as in app.test.mjs
const scratch = mkdtempSync(join(tmpdir(), 'clipseg-labels-'));

function cli(...args) {
  return execFileSync(CLI, args, { stdio: ['ignore', 'pipe', 'pipe'] });
}

function cliLogits(photo, args) {
  const out = join(scratch, `${Math.random().toString(36).slice(2)}.npy`);
  cli('segment', '--model', MODEL_DIR, '--image', photo, ...args, '--logits', out);
  return readNpy(out);
}

let server;
let browser;
let page;
before(async () => {
  server = await serve();
  browser = await launch({ webgpu: false });
  page = await browser.newPage();
  page.errors = [];
  page.on('pageerror', (error) => page.errors.push(error.message));
  // Any page of the site will do (not the app, which would load a model of its own).
  await page.goto(`${server.url}models/manifest.json`);
  // The engine as a page module uses it: the JS API and the labelling library.
  await page.evaluate(async (photos) => {
    const { Segmenter } = await import('/www/clipseg.js');
    const { Labels } = await import('/www/labels.js');
    const blobs = {};
    for (const [name, bytes] of Object.entries(photos)) blobs[name] = new Blob([new Uint8Array(bytes)]);
    window.engine = {
      blobs,
      labels: new Labels(),
      segmenter: await Segmenter.load({ modelUrl: '/models/tiny-refined/', backend: 'cpu' }),
    };
  }, Object.fromEntries(Object.entries(PHOTOS).map(([name, path]) => [name, [...readFileSync(path)]])));
});
after(async () => {
  await browser?.close();
  await server?.close();
});

// Reads a PNG the CLI wrote as one byte per pixel (its red channel), through the browser.
const pngBytes = (path) => page.evaluate(async (bytes) => {
  const bitmap = await createImageBitmap(new Blob([new Uint8Array(bytes)], { type: 'image/png' }));
  const context = new OffscreenCanvas(bitmap.width, bitmap.height).getContext('2d');
  context.drawImage(bitmap, 0, 0);
  const { data } = context.getImageData(0, 0, bitmap.width, bitmap.height);
  return Array.from({ length: bitmap.width * bitmap.height }, (_, i) => data[4 * i]);
}, [...readFileSync(path)]);

test('keyed images encoded in the background each give their own logits', async () => {
  const logits = await page.evaluate(async (prompt) => {
    const { segmenter, blobs } = window.engine;
    await segmenter.encode(blobs.chelsea, { key: 'chelsea' });
    await segmenter.encode(blobs.rocket, { key: 'rocket' });
    const out = {};
    for (const name of ['rocket', 'chelsea', 'rocket']) {
      const started = performance.now();
      await segmenter.setImage(blobs[name], { key: name });
      const switchMs = performance.now() - started;
      const { logits } = await segmenter.segment({ prompts: [prompt] });
      out[name] = { logits: Array.from(logits), switchMs };
    }
    return out;
  }, PROMPT);
  for (const [name, photo] of Object.entries(PHOTOS)) {
    const error = relativeL2(Float32Array.from(logits[name].logits), cliLogits(photo, ['--prompt', PROMPT]));
    assert.ok(error <= TOLERANCE, `${name}: relative L2 ${error}`);
  }
  console.log(`switch to a kept image: ${logits.chelsea.switchMs.toFixed(1)} ms`);
});

test("a class mask and its regions are the CLI's segment --mask, pixel for pixel", async () => {
  const cliMask = join(scratch, 'cat.png');
  cli('segment', '--model', MODEL_DIR, '--image', PHOTOS.chelsea, '--prompt', PROMPT, '--mask', cliMask,
    '--threshold', String(THRESHOLD));
  const expected = await pngBytes(cliMask);
  const result = await page.evaluate(async ({ prompt, threshold }) => {
    const { segmenter, labels, blobs } = window.engine;
    const image = await segmenter.setImage(blobs.chelsea, { key: 'chelsea' });
    const { logits, size } = await segmenter.segment({ prompts: [prompt] });
    const mask = await labels.classMask({ logits, size, width: image.width, height: image.height, threshold });
    return {
      count: mask.count,
      areas: Array.from(mask.areas),
      boxes: Array.from(mask.boxes),
      components: Array.from(mask.components),
      width: image.width,
    };
  }, { prompt: PROMPT, threshold: THRESHOLD });
  // The mask is where a pixel has a region.
  assert.deepEqual(result.components.map((label) => (label > 0 ? 1 : 0)), expected.map((v) => (v >= 128 ? 1 : 0)));
  assert.ok(result.count > 0, 'the cat is found');
  // Every foreground pixel is in a region, each region's area and box describe its pixels.
  const areas = new Array(result.count + 1).fill(0);
  result.components.forEach((label, i) => {
    areas[label]++;
    if (label === 0) return;
    const [x, y, w, h] = result.boxes.slice(4 * label, 4 * label + 4);
    const px = i % result.width;
    const py = Math.floor(i / result.width);
    assert.ok(px >= x && px < x + w && py >= y && py < y + h, `pixel ${px},${py} inside region ${label}'s box`);
  });
  assert.deepEqual(areas.slice(1), result.areas.slice(1));
});

test("a mask prompt is the CLI's --visual-mask", async () => {
  const maskFile = join(REPO, 'fixtures', 'images', 'chelsea_mask.png');
  const mask = await pngBytes(maskFile);
  const logits = await page.evaluate(async (bytes) => {
    const { segmenter, blobs } = window.engine;
    await segmenter.setImage(blobs.chelsea, { key: 'chelsea' });
    const result = await segmenter.segment({ visual: { mask: Uint8Array.from(bytes, (v) => (v >= 128 ? 1 : 0)) } });
    return Array.from(result.logits);
  }, mask);
  const error = relativeL2(Float32Array.from(logits), cliLogits(PHOTOS.chelsea, ['--visual-mask', maskFile]));
  assert.ok(error <= TOLERANCE, `relative L2 ${error}`);
});

test("the exported zip holds the instances clipseg label writes (a class of two phrasings), in COCO, YOLO and PNG", async () => {
  // The CLI's batch run on a folder with the photo.
  const folder = join(scratch, 'photos');
  mkdirSync(folder, { recursive: true });
  copyFileSync(PHOTOS.chelsea, join(folder, 'chelsea.png'));
  const cliCoco = join(scratch, 'cli.json');
  cli('label', '--model', MODEL_DIR, '--images', folder, '--class', `cat=${PHRASINGS.join(';')}`, '--out', cliCoco,
    '--threshold', String(THRESHOLD), '--min-area', '1');
  const expected = JSON.parse(readFileSync(cliCoco, 'utf8'));
  assert.ok(expected.annotations.length > 1, 'the class has several instances');

  // The page: the class (its phrasings averaged), every region of its mask accepted as an
  // instance, then exported.
  const zip = await page.evaluate(async ({ phrasings, threshold }) => {
    const { segmenter, labels, blobs } = window.engine;
    const image = await segmenter.setImage(blobs.chelsea, { key: 'chelsea' });
    const { logits, size } = await segmenter.segment({ prompts: [phrasings] });
    const cat = {
      ...await labels.classMask({ logits, size, width: image.width, height: image.height, threshold }),
      width: image.width,
      height: image.height,
    };
    const annotations = [];
    for (let label = 1; label <= cat.count; label++) {
      const region = cat.components.map((l) => (l === label ? 1 : 0));
      const counts = await labels.encodeRle(region, cat.width, cat.height);
      // The RLE decodes back to the region.
      const back = await labels.decodeRle(counts, cat.width, cat.height);
      if (!back.every((v, i) => v === region[i])) throw new Error(`region ${label}: RLE round trip differs`);
      // As the crop of its box (how the page keeps an instance) and back.
      const crop = await labels.decodeCrop(counts, cat.width, cat.height);
      const box = Array.from(cat.boxes.subarray(4 * label, 4 * label + 4));
      if (String([crop.x, crop.y, crop.w, crop.h]) !== String(box)) throw new Error(`region ${label}: crop ${crop.x},${crop.y},${crop.w},${crop.h} is not its box ${box}`);
      if (await labels.encodeCrop(crop, cat.width, cat.height) !== counts) throw new Error(`region ${label}: crop RLE differs`);
      annotations.push({
        id: label, image_id: 1, category_id: 1, iscrowd: 0,
        segmentation: { size: [cat.height, cat.width], counts },
      });
    }
    const dataset = {
      images: [{ id: 1, file_name: 'chelsea.png', width: cat.width, height: cat.height }],
      categories: [{ id: 1, name: 'cat' }],
      annotations,
    };
    const blob = await labels.exportZip(dataset);
    return [...new Uint8Array(await blob.arrayBuffer())];
  }, { phrasings: PHRASINGS, threshold: THRESHOLD });
  const files = unzipSync(Uint8Array.from(zip));
  const text = (path) => new TextDecoder().decode(files[path]);
  const coco = JSON.parse(text('coco/instances.json'));
  const shape = (d) => d.annotations.map((a) => ({
    category_id: a.category_id, area: a.area, bbox: a.bbox, iscrowd: a.iscrowd, segmentation: a.segmentation,
  }));
  assert.deepEqual(shape(coco), shape(expected));
  assert.deepEqual(coco.images.map((i) => [i.file_name, i.width, i.height]), expected.images.map((i) => [i.file_name, i.width, i.height]));
  assert.equal(text('yolo/labels/chelsea.txt').trim().split('\n').length, expected.annotations.length);
  assert.match(text('yolo/data.yaml'), /names:\n {2}0: "cat"/);
  assert.ok(files['png/SegmentationClass/chelsea.png'] && files['png/SegmentationObject/chelsea.png']);
  assert.match(text('png/labelmap.txt'), /^cat:/m);

  // Imported again, the dataset is what was exported; a broken file says why, with its kind.
  const imported = await page.evaluate((json) => window.engine.labels.importCoco(json), text('coco/instances.json'));
  assert.deepEqual(shape(imported), shape(coco));
  const failure = await page.evaluate(() => window.engine.labels.importCoco('{"images": 3}')
    .then(() => null, (error) => ({ kind: error.kind, message: error.message })));
  assert.equal(failure.kind, 'annotations');
  assert.match(failure.message, /COCO/);
  assert.deepEqual(page.errors, []);
});
