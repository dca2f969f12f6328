// Load and memory: 200 images opened in turn and 500 prompt edits in one page. The wasm module's
// memory and the page's JS heap must stop growing after warm-up (the curve is printed, for the
// record); and 20 quick edits while an encode runs all resolve to the last one.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, launch, serve } from './harness.mjs';

const PHOTOS = ['chelsea.png', 'astronaut_352.png', 'coffee_352.png', 'rocket.jpg'].map((n) => join(REPO, 'fixtures', 'images', n));
const MB = 1 << 20;

let server;
let browser;
let page;
let worker;
before(async () => {
  server = await serve();
  browser = await launch({ webgpu: false });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(`${server.url}?model=tiny-refined&backend=cpu`);
  await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 120_000 });
  worker = page.workers().find((w) => w.url().endsWith('/www/worker.js'));
  await page.evaluate((photos) => {
    window.soakPhotos = photos.map((bytes, i) => new File([new Uint8Array(bytes)], `photo-${i}`));
  }, PHOTOS.map((p) => Array.from(readFileSync(p))));
});
after(async () => {
  await browser?.close();
  await server?.close();
});

// JS heap after a collection (the page's), and the worker's wasm memory, in MB.
async function memory() {
  const session = await page.context().newCDPSession(page);
  await session.send('HeapProfiler.collectGarbage');
  const { usedSize } = await session.send('Runtime.getHeapUsage');
  await session.detach();
  return { heap: usedSize / MB, wasm: (await worker.evaluate(() => self.wasmMemoryBytes())) / MB };
}

test('200 images and 500 prompt edits: memory stops growing after warm-up', async () => {
  const curve = [];
  for (let round = 0; round < 10; round++) {
    await page.evaluate(async (round) => {
      const seg = window.clipsegApp.segmenter;
      for (let i = 0; i < 20; i++) {
        await seg.setImage(window.soakPhotos[(round * 20 + i) % window.soakPhotos.length]);
        // 50 edits per round: a prompt list edited one prompt at a time, as a person types.
        for (let edit = 0; edit < (i < 10 ? 5 : 0); edit++) {
          await seg.segment({ prompts: ['a cat', `the thing number ${round}-${i}-${edit}`] });
        }
        await seg.segment({ prompts: ['a cat'] });
      }
    }, round);
    curve.push({ images: (round + 1) * 20, edits: (round + 1) * 50, ...(await memory()) });
  }
  console.log('memory after N images / prompt edits (MB):');
  for (const point of curve) console.log(`  ${point.images} images, ${point.edits} edits: JS heap ${point.heap.toFixed(2)}, wasm ${point.wasm.toFixed(1)}`);
  const warm = curve[2];
  const last = curve.at(-1);
  assert.equal(last.wasm, warm.wasm, 'the wasm memory does not grow after 60 images');
  assert.ok(last.heap - warm.heap < 2, `the JS heap grows ${(last.heap - warm.heap).toFixed(2)} MB after 60 images`);
});

test('20 quick edits while an encode runs resolve to the last one', async () => {
  await page.setInputFiles('#file-input', PHOTOS[0]);
  await page.waitForFunction(() => document.body.dataset.busy === 'false', null, { timeout: 120_000 });
  await page.fill('#prompt-input', 'edit 0');
  await page.click('#add-prompt');
  await page.waitForFunction(() => window.clipsegApp.lastResult?.logits?.['edit 0'], null, { timeout: 120_000 });
  // A new photo (its encode starts), and the prompt edited 20 times without waiting.
  await page.setInputFiles('#file-input', PHOTOS[3]);
  for (let edit = 1; edit <= 20; edit++) await page.fill('li.prompt input.prompt-text', `edit ${edit}`);
  await page.waitForFunction(() => window.clipsegApp.lastResult?.logits?.['edit 20'] && document.body.dataset.busy === 'false', null, { timeout: 120_000 });
  const state = await page.evaluate(async () => {
    const { prompts, image } = window.clipsegApp.state;
    const shown = Array.from(window.clipsegApp.lastResult.logits['edit 20']);
    const direct = Array.from((await window.clipsegApp.segmenter.segment({ prompts: ['edit 20'] })).logits);
    return { texts: prompts.map((p) => p.text), image: image.name, keys: Object.keys(window.clipsegApp.lastResult.logits), shown, direct };
  });
  assert.deepEqual(state.texts, ['edit 20'], 'one prompt, the last text');
  assert.equal(state.image, 'rocket.jpg', 'on the new photo');
  assert.deepEqual(state.keys, ['edit 20'], 'no result of an earlier edit is shown');
  assert.deepEqual(state.shown, state.direct, 'the result shown is the last edit on the new photo');
});
