// The labelling page (label.html) as a person uses it, in headless Chromium with the tiny
// fixture model on the CPU: open a folder of photos (with a file that is not one), define
// classes, hover and click regions, merge and cut with Shift and Alt, accept all, draw a box,
// brush and erase, undo and redo across images, mark an image done, reload mid-work (everything
// is back, undo history included), survive a failed save, export the zip (its COCO holds the
// instances the page showed) and import it into a new project. Needs `dist/` built with the
// tiny model staged (scripts/test.sh). Screenshots go to tests/e2e/artifacts/label-*.png.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { ARTIFACTS, REPO, launch, serve } from './harness.mjs';

const IMAGES = ['astronaut_352.png', 'chelsea.png', 'coffee_352.png'];
const THRESHOLD = '0.6'; // the tiny random model's map has many mid-size regions here
const scratch = mkdtempSync(join(tmpdir(), 'clipseg-label-'));
const folder = join(scratch, 'photos');
mkdirSync(folder);
for (const name of IMAGES) copyFileSync(join(REPO, 'fixtures', 'images', name), join(folder, name));
writeFileSync(join(folder, 'notes.txt'), 'not a photo');
// An image by its name, not by its bytes: it is marked unreadable and skipped on export.
writeFileSync(join(folder, 'zz-broken.png'), readFileSync(join(REPO, 'fixtures', 'images', 'chelsea.png')).subarray(0, 300));
const LISTED = [...IMAGES, 'zz-broken.png'];
mkdirSync(ARTIFACTS, { recursive: true });

// The native CLI, for the parity check (scripts/test.sh sets CLIPSEG_BIN).
const CLI = process.env.CLIPSEG_BIN ?? join(process.env.CARGO_TARGET_DIR ?? join(REPO, 'target'), 'debug', 'clipseg');

const shot = (page, name) => page.screenshot({ path: join(ARTIFACTS, `label-${name}.png`) });
const state = (page) => page.evaluate(() => {
  const s = window.clipsegLabel.state;
  return { images: s.images, classes: s.classes, current: s.currentImageId, selected: s.selected, history: s.history, save: s.save, regions: s.regions, tool: s.tool };
});
const idle = (page) => page.waitForFunction(() => document.body.dataset.busy === 'false' && document.body.dataset.saved === 'true', null, { timeout: 60_000 });
const message = (page) => page.locator('#message').textContent();
const current = (s) => s.images.find((i) => i.id === s.current);

// Waits until the active class's regions on the current image are computed at `threshold`.
async function regionsReady(page, threshold = Number(THRESHOLD)) {
  await page.waitForFunction((t) => {
    const s = window.clipsegLabel.state;
    const r = s.regions;
    return r && r.imageId === s.currentImageId && r.classId === s.activeClassId && r.threshold === t && document.body.dataset.busy === 'false';
  }, threshold, { timeout: 60_000 });
  return (await state(page)).regions;
}

async function setThreshold(page, value) {
  await page.locator('#threshold').fill(value);
  return regionsReady(page, Number(value));
}

// Region labels by area, largest first (only those of at least `min` pixels).
const largest = (regions, min = 200) => regions.areas.map((area, label) => ({ label, area }))
  .filter(({ label, area }) => label > 0 && area >= min).sort((a, b) => b.area - a.area);

// The screen position of a pixel inside region `label`.
async function regionPoint(page, label) {
  return page.evaluate((l) => {
    const p = window.clipsegLabel.pointIn(l);
    return window.clipsegLabel.screenPoint(p.x, p.y);
  }, label);
}

async function clickRegion(page, label, modifier) {
  const { x, y } = await regionPoint(page, label);
  await page.mouse.move(x, y);
  if (modifier) await page.keyboard.down(modifier);
  await page.mouse.click(x, y);
  if (modifier) await page.keyboard.up(modifier);
  await idle(page);
}

// Drags on the image between original pixels.
async function dragImage(page, [x0, y0], [x1, y1]) {
  const a = await page.evaluate(([x, y]) => window.clipsegLabel.screenPoint(x, y), [x0, y0]);
  const b = await page.evaluate(([x, y]) => window.clipsegLabel.screenPoint(x, y), [x1, y1]);
  await page.mouse.move(a.x, a.y);
  await page.mouse.down();
  await page.mouse.move((a.x + b.x) / 2, (a.y + b.y) / 2, { steps: 4 });
  await page.mouse.move(b.x, b.y, { steps: 4 });
  await page.mouse.up();
}

// How many pixels of a canvas are painted.
const painted = (page, id) => page.evaluate((selector) => {
  const canvas = document.querySelector(selector);
  const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
  let n = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++;
  return n;
}, id);

const instancesOf = (s, imageId = s.current) => s.images.find((i) => i.id === imageId).instances;

describe('the labelling page', () => {
  let server;
  let browser;
  let context;
  let page;
  const errors = [];
  before(async () => {
    server = await serve();
    browser = await launch({ webgpu: false });
    context = await browser.newContext({ viewport: { width: 1400, height: 900 }, acceptDownloads: true });
    page = await context.newPage();
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('dialog', (dialog) => dialog.accept());
    await page.goto(`${server.url}label.html?model=tiny-refined&backend=cpu`);
    await page.waitForFunction(() => document.body.dataset.restored === 'true' && document.body.dataset.ready === 'true', null, { timeout: 60_000 });
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test('a folder: its photos are added, what is not a photo is named and skipped', async () => {
    await page.setInputFiles('#folder-input', folder);
    await idle(page);
    const s = await state(page);
    assert.deepEqual(s.images.map((i) => i.name), LISTED.map((n) => `photos/${n}`));
    assert.deepEqual(s.images.map((i) => i.status), ['new', 'new', 'new', 'new']);
    assert.match(await message(page), /Skipped a file that is not an image: “photos\/notes\.txt”/);
    assert.equal(s.current, s.images[0].id);
    await page.waitForFunction(() => window.clipsegLabel.state.shown?.width === 352);
  });

  test('classes: typed, imported from a list, selected with 1–9', async () => {
    await page.fill('#class-input', 'person');
    await page.press('#class-input', 'Enter');
    const list = join(scratch, 'classes.txt');
    writeFileSync(list, '# more\nperson\nflag: a flag; the stars and stripes\n');
    await page.setInputFiles('#class-file', list);
    await idle(page);
    let s = await state(page);
    assert.deepEqual(s.classes.map((c) => [c.name, c.prompts]), [['person', ['person']], ['flag', ['a flag', 'the stars and stripes']]]);
    await page.keyboard.press('Escape');
    await page.keyboard.press('1');
    s = await state(page);
    assert.equal(await page.evaluate(() => window.clipsegLabel.state.activeClassId), s.classes[0].id);
    await shot(page, '1-classes');
  });

  test('hover previews a region at full resolution; a click makes it an instance', async () => {
    const regions = await setThreshold(page, THRESHOLD);
    const [first] = largest(regions);
    assert.ok(first, `regions at ${THRESHOLD}: ${regions.count}`);
    const { x, y } = await regionPoint(page, first.label);
    await page.mouse.move(x, y);
    await page.waitForFunction(() => /Click: add/.test(document.querySelector('#hover-info').textContent));
    assert.equal(await painted(page, '#preview-canvas'), first.area, 'the preview is the region, pixel for pixel');
    await shot(page, '2-hover');
    await clickRegion(page, first.label);
    const s = await state(page);
    const [instance] = instancesOf(s);
    assert.equal(instance.area, first.area);
    assert.equal(s.selected, instance.id);
    assert.equal(current(s).status, 'progress');
    assert.ok(await painted(page, '#instance-canvas') >= first.area);
  });

  test('Shift-click merges a region into the selected instance; Alt-click cuts it out (zoomed in)', async () => {
    const regions = (await state(page)).regions;
    const [first, second] = largest(regions);
    // The wheel zooms about the pointer (the zoomed image then fills the viewer): the region
    // stays in view.
    const at = await regionPoint(page, second.label);
    await page.mouse.move(at.x, at.y);
    await page.mouse.wheel(0, -600);
    await page.waitForFunction(() => window.clipsegLabel.state.zoom > 2);
    const still = await regionPoint(page, second.label);
    const viewer = await page.locator('#drop-zone').boundingBox();
    assert.ok(still.x > viewer.x && still.x < viewer.x + viewer.width && still.y > viewer.y && still.y < viewer.y + viewer.height, 'in view');
    await clickRegion(page, second.label, 'Shift');
    let [instance] = instancesOf(await state(page));
    assert.equal(instance.area, first.area + second.area, 'merged');
    await shot(page, '3-merged');
    await clickRegion(page, second.label, 'Alt');
    [instance] = instancesOf(await state(page));
    assert.equal(instance.area, first.area, 'cut');
    // Space+drag pans and edits nothing; 0 fits the image again.
    const before = (await state(page)).history.length;
    const transform = () => page.evaluate(() => document.querySelector('#stage').style.transform);
    const zoomed = await transform();
    await page.keyboard.down(' ');
    await page.mouse.move(still.x, still.y);
    await page.mouse.down();
    await page.mouse.move(still.x - 60, still.y - 40, { steps: 4 }); // towards the image's far side: room to pan
    await page.mouse.up();
    await page.keyboard.up(' ');
    assert.notEqual(await transform(), zoomed, 'panned');
    assert.equal((await state(page)).history.length, before, 'a pan is no edit');
    await page.keyboard.press('0');
    assert.equal(await page.evaluate(() => window.clipsegLabel.state.zoom), 1);
  });

  test('A accepts every other region above the minimum area', async () => {
    await page.fill('#min-area', '500');
    await page.press('#min-area', 'Enter');
    await page.keyboard.press('Escape');
    const regions = (await state(page)).regions;
    const big = largest(regions, 500);
    await page.keyboard.press('a');
    await idle(page);
    const instances = instancesOf(await state(page));
    assert.equal(instances.length, big.length, 'the first was accepted already: one each');
    assert.deepEqual(instances.map((i) => i.area).sort((a, b) => a - b), big.map((r) => r.area).sort((a, b) => a - b));
    await shot(page, '4-accept-all');
  });

  test('a box gives the largest region inside it, with the class words mixed in', async () => {
    const before = instancesOf(await state(page)).length;
    await page.keyboard.press('2'); // flag
    await page.keyboard.down('b');
    await dragImage(page, [20, 20], [150, 200]);
    await page.keyboard.up('b');
    await idle(page);
    const s = await state(page);
    const instances = instancesOf(s);
    if (instances.length === before) {
      assert.match(await page.locator('#toast').textContent(), /No flag found in that box/);
    } else {
      const [x, y, w, h] = instances.at(-1).bbox;
      assert.ok(x >= 19 && y >= 19 && x + w <= 151 && y + h <= 201, `inside the box: ${instances.at(-1).bbox}`);
      assert.equal(instances.at(-1).classId, s.classes[1].id);
    }
    assert.equal(s.tool, 'click', 'B held is a box for one drag');
    await shot(page, '5-box');
  });

  test('brush paints the selected instance, the eraser takes it back; [ and ] size the brush', async () => {
    await page.keyboard.press('Escape');
    await page.keyboard.press('r');
    await page.keyboard.press(']');
    const size = await page.evaluate(() => window.clipsegLabel.state.brushSize);
    await dragImage(page, [250, 60], [320, 60]); // no selection: a new instance of the class
    await idle(page);
    let s = await state(page);
    const painted1 = instancesOf(s).find((i) => i.id === s.selected);
    assert.ok(painted1.area > size * 70 * 0.8, `a stroke of ${size} px: ${painted1.area}`);
    await page.keyboard.press('e');
    await dragImage(page, [280, 40], [280, 80]);
    await idle(page);
    s = await state(page);
    const erased = instancesOf(s).find((i) => i.id === s.selected);
    assert.ok(erased.area < painted1.area && erased.area > 0, `${erased.area} < ${painted1.area}`);
    await shot(page, '6-brush');
    await page.keyboard.press('Control+z');
    await idle(page);
    assert.equal(instancesOf(await state(page)).find((i) => i.id === painted1.id).area, painted1.area, 'undo the eraser');
    await page.keyboard.press('Control+Shift+z');
    await idle(page);
    assert.equal(instancesOf(await state(page)).find((i) => i.id === painted1.id).area, erased.area, 'redo it');
    await page.keyboard.press('v');
  });

  test('more like this: an instance becomes its class’s visual prompt, here and on the next images', async () => {
    const s = await state(page);
    const box = instancesOf(s).find((i) => i.classId === s.classes[1].id) ?? instancesOf(s)[0];
    const index = s.classes.findIndex((c) => c.id === box.classId);
    await page.click(`#instance-list li[data-id="${box.id}"]`);
    await page.keyboard.press('m');
    await page.waitForFunction((i) => window.clipsegLabel.state.classes[i].exemplar !== null, index);
    const like = (await state(page)).classes[index].exemplar;
    assert.equal(like.instanceId, box.id);
    await regionsReady(page, 0.5);
    assert.match(await page.locator('#like-info').textContent(), new RegExp(`more like #${box.id}`));
    await shot(page, '7-more-like-this');
  });

  test('the next image is ready at once; undo on another image goes back to it; Enter marks done', async () => {
    const first = (await state(page)).current;
    await page.keyboard.press('Enter');
    await idle(page);
    assert.equal(current(await state(page)).status, 'done');
    const encodes = await page.evaluate(() => window.clipsegLabel.state.encodes);
    assert.ok(encodes.ahead >= 2, `the next images were encoded in the background: ${JSON.stringify(encodes)}`);
    await page.keyboard.press('d');
    await page.waitForFunction((id) => window.clipsegLabel.state.shown?.id === id, (await state(page)).images[1].id);
    await idle(page);
    const after = await page.evaluate(() => window.clipsegLabel.state.encodes);
    assert.equal(after.cold, encodes.cold, 'the next image needed no encode');
    assert.equal(after.warm, encodes.warm + 1);
    const regions = await setThreshold(page, '0.6');
    await clickRegion(page, largest(regions, 1)[0].label);
    let s = await state(page);
    assert.equal(instancesOf(s).length, 1);
    assert.equal(current(s).name, 'photos/chelsea.png');
    await page.keyboard.press('ArrowLeft'); // the focused threshold slider keeps its arrows…
    assert.equal((await state(page)).current, s.current);
    await page.keyboard.press('Escape'); // …until Escape gives the keys back to the page
    await page.keyboard.press('ArrowLeft');
    await page.waitForFunction((id) => window.clipsegLabel.state.shown?.id === id, first);
    await page.keyboard.press('Control+z'); // the instance on chelsea: it comes back into view
    await idle(page);
    s = await state(page);
    assert.equal(current(s).name, 'photos/chelsea.png');
    assert.equal(instancesOf(s).length, 0);
    await page.keyboard.press('Control+y');
    await idle(page);
    assert.equal(instancesOf(await state(page)).length, 1);
    // Encoding ahead found the broken file: named in the list, never shown.
    await page.waitForSelector('#image-list .status-error');
    assert.match(await page.locator('#image-list .status-error').textContent(), /unreadable.*zz-broken\.png/);
    await shot(page, '8-next-image');
  });

  let beforeReload;
  test('a reload restores everything, undo history included', async () => {
    beforeReload = await state(page);
    await page.reload();
    await page.waitForFunction(() => document.body.dataset.restored === 'true' && document.body.dataset.ready === 'true', null, { timeout: 60_000 });
    await idle(page);
    const s = await state(page);
    assert.deepEqual(s.images, beforeReload.images);
    assert.deepEqual(s.classes, beforeReload.classes);
    assert.equal(s.current, beforeReload.current);
    assert.deepEqual(s.history, beforeReload.history);
    await page.waitForFunction(() => window.clipsegLabel.state.shown !== null);
    await shot(page, '9-reloaded');
    await page.keyboard.press('Control+z');
    await idle(page);
    assert.equal(instancesOf(await state(page)).length, 0, 'undo after a reload');
    await page.keyboard.press('Control+y');
    await idle(page);
  });

  test('a failed save is shown and retried, never dropped', async () => {
    await page.evaluate(() => {
      const put = IDBObjectStore.prototype.put;
      window.restorePut = () => { IDBObjectStore.prototype.put = put; };
      IDBObjectStore.prototype.put = function fail() {
        throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      };
    });
    await page.keyboard.press('h'); // hide: an edit
    await page.waitForFunction(() => document.body.dataset.saved === 'false');
    assert.match(await message(page), /could not be saved: the browser’s storage for this site is full/);
    assert.match(await page.locator('#save-state').textContent(), /Not saved/);
    await shot(page, '10-save-failed');
    await page.evaluate(() => window.restorePut());
    await page.click('#save-state button');
    await page.waitForFunction(() => document.body.dataset.saved === 'true');
    await page.keyboard.press('h');
    await idle(page);
  });

  let exported;
  test('export: one zip whose COCO holds the instances the page shows, with YOLO and PNG', async () => {
    const all = await state(page);
    const s = { ...all, images: all.images.filter((i) => !i.error) };
    assert.equal(s.images.length, IMAGES.length);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-button')]);
    const files = unzipSync(readFileSync(await download.path()));
    const coco = JSON.parse(new TextDecoder().decode(files['coco/instances.json']));
    exported = { coco, bytes: files['coco/instances.json'] };
    assert.deepEqual(coco.images.map((i) => [i.file_name, i.width, i.height]), s.images.map((i) => [i.name, i.width, i.height]));
    assert.deepEqual(coco.categories.map((c) => c.name), s.classes.map((c) => c.name));
    const shown = s.images.flatMap((image, i) => image.instances.map((instance) => ({ image: i + 1, instance })));
    assert.equal(coco.annotations.length, shown.length);
    // Each RLE's pixel count, decoded by the page's own codec (the wasm labels library).
    const decodedAreas = await page.evaluate(async (list) => {
      const { decodeMask } = await import('/www/label/rle.js');
      const { areaOf } = await import('/www/label/mask.js');
      return list.map(([counts, width, height]) => areaOf(decodeMask(counts, width, height)));
    }, coco.annotations.map((a) => [a.segmentation.counts, a.segmentation.size[1], a.segmentation.size[0]]));
    coco.annotations.forEach((annotation, k) => {
      const { image, instance } = shown[k];
      assert.equal(annotation.image_id, image);
      assert.equal(annotation.iscrowd, 0);
      assert.equal(annotation.category_id, s.classes.findIndex((c) => c.id === instance.classId) + 1);
      assert.equal(annotation.segmentation.counts, instance.counts);
      const { width, height } = s.images[image - 1];
      assert.deepEqual(annotation.segmentation.size, [height, width]);
      assert.equal(annotation.area, decodedAreas[k]);
      assert.equal(annotation.area, instance.area);
      assert.deepEqual(annotation.bbox, instance.bbox);
    });
    assert.ok(files['yolo/data.yaml'], 'YOLO');
    assert.ok(Object.keys(files).some((f) => f.startsWith('yolo/labels/')), 'YOLO labels');
    assert.ok(Object.keys(files).some((f) => f.startsWith('png/SegmentationObject/')), 'PNG masks');
    assert.ok(files['png/labelmap.txt'], 'PNG label map');
    assert.match(await message(page), /skipped “photos\/zz-broken\.png”/);
    await shot(page, '11-exported');
  });

  test('export options: COCO alone, as polygons, only the images marked done', async () => {
    const s = await state(page);
    await page.uncheck('input[name="format"][value="yolo"]');
    await page.uncheck('input[name="format"][value="png"]');
    await page.selectOption('#segmentation-select', 'polygons');
    await page.check('#only-done');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-button')]);
    const files = unzipSync(readFileSync(await download.path()));
    assert.deepEqual(Object.keys(files), ['coco/instances.json']);
    const coco = JSON.parse(new TextDecoder().decode(files['coco/instances.json']));
    const done = s.images.filter((i) => i.status === 'done');
    assert.deepEqual(coco.images.map((i) => i.file_name), done.map((i) => i.name));
    assert.ok(coco.annotations.length > 0);
    for (const annotation of coco.annotations) {
      assert.ok(Array.isArray(annotation.segmentation), 'polygons');
      assert.ok(annotation.segmentation.every((polygon) => polygon.length >= 6 && polygon.length % 2 === 0));
    }
    for (const value of ['yolo', 'png']) await page.check(`input[name="format"][value="${value}"]`);
    await page.selectOption('#segmentation-select', 'rle');
    await page.uncheck('#only-done');
  });

  test('import: the COCO file and its photos in a new project give the same labels', async () => {
    const all = await state(page);
    const before = { ...all, images: all.images.filter((i) => !i.error) };
    await page.click('#new-project'); // confirmed (the dialog handler accepts)
    await page.waitForFunction(() => window.clipsegLabel.state.images.length === 0 && window.clipsegLabel.state.history.length === 0);
    await idle(page);
    const json = join(scratch, 'instances.json');
    writeFileSync(json, exported.bytes);
    await page.setInputFiles('#import-input', [json, ...IMAGES.map((n) => join(folder, n))]);
    await page.waitForFunction((n) => window.clipsegLabel.state.history.length === 1 && window.clipsegLabel.state.images.length === n, IMAGES.length);
    await idle(page);
    const s = await state(page);
    assert.deepEqual(s.classes.map((c) => c.name), before.classes.map((c) => c.name));
    assert.deepEqual(s.images.map((i) => i.name), before.images.map((i) => i.name));
    assert.deepEqual(s.images.map((i) => i.instances.map((x) => [x.counts, x.area])), before.images.map((i) => i.instances.map((x) => [x.counts, x.area])));
    await page.waitForFunction(() => window.clipsegLabel.state.shown !== null);
    await shot(page, '12-imported');
    // A file that is not COCO is refused with a clear message; the project stays.
    const bad = join(scratch, 'bad.json');
    writeFileSync(bad, '{"images": [{"id": 1}]}');
    await page.setInputFiles('#import-input', [bad]);
    await page.waitForFunction(() => document.querySelector('#message').textContent.includes('cannot be imported'));
    assert.equal((await state(page)).images.length, IMAGES.length);
    assert.deepEqual(errors, []);
  });
});

describe('the page labels as the CLI does', () => {
  let server;
  let browser;
  let page;
  before(async () => {
    server = await serve();
    browser = await launch({ webgpu: false });
    page = await (await browser.newContext({ viewport: { width: 1400, height: 900 }, acceptDownloads: true })).newPage();
    await page.goto(`${server.url}label.html?model=tiny-refined&backend=cpu`);
    await page.waitForFunction(() => document.body.dataset.restored === 'true' && document.body.dataset.ready === 'true', null, { timeout: 60_000 });
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test('"accept all" of each class on each image = clipseg label, RLE for RLE', { skip: !existsSync(CLI) && `no CLI at ${CLI}` }, async () => {
    const out = join(scratch, 'cli.json');
    execFileSync(CLI, [
      'label', '--model', join(REPO, 'models', 'tiny-refined'), '--images', scratch, '--class', 'person',
      '--class', 'flag=a flag;the stars and stripes', '--threshold', THRESHOLD, '--min-area', '500', '--out', out,
    ], { stdio: 'pipe' });
    const cli = JSON.parse(readFileSync(out, 'utf8'));
    await page.setInputFiles('#folder-input', folder);
    const list = join(scratch, 'parity-classes.txt');
    writeFileSync(list, 'person\nflag: a flag; the stars and stripes\n');
    await page.setInputFiles('#class-file', list);
    await idle(page);
    await page.fill('#min-area', '500');
    await page.press('#min-area', 'Enter');
    for (const key of ['1', '2']) {
      await page.keyboard.press('Escape');
      await page.keyboard.press(key);
      await setThreshold(page, THRESHOLD);
    }
    await page.keyboard.press('Escape');
    for (let i = 0; i < IMAGES.length; i++) {
      for (const key of ['1', '2']) {
        await page.keyboard.press(key);
        await regionsReady(page);
        await page.keyboard.press('a');
        await idle(page);
      }
      if (i < IMAGES.length - 1) {
        await page.keyboard.press('d');
        await page.waitForFunction((n) => window.clipsegLabel.state.shown?.id === window.clipsegLabel.state.images[n].id, i + 1);
      }
    }
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-button')]);
    const coco = JSON.parse(new TextDecoder().decode(unzipSync(readFileSync(await download.path()))['coco/instances.json']));
    const keys = (dataset) => {
      const files = new Map(dataset.images.map((i) => [i.id, i.file_name]));
      const names = new Map(dataset.categories.map((c) => [c.id, c.name]));
      return dataset.annotations.map((a) => `${files.get(a.image_id)} ${names.get(a.category_id)} ${a.area} ${a.segmentation.counts}`).sort();
    };
    assert.ok(cli.annotations.length > 3, `the CLI found ${cli.annotations.length} instances`);
    assert.deepEqual(keys(coco), keys(cli));
    await shot(page, '13-parity');
  });
});
