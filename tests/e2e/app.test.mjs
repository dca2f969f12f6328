// The page as a person uses it, in headless Chromium: load a model, upload a real photo, type
// prompts, draw a box, and read the result — checked against the native CLI on the same model
// and image. Needs `dist/` built with the tiny fixture model staged (scripts/test.sh does that).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ARTIFACTS, CLI, DIST, REPO, launch, readNpy, relativeL2, serve } from './harness.mjs';

const MODEL = 'tiny-refined';
const MODEL_DIR = join(REPO, 'models', MODEL);
const PHOTO = join(REPO, 'fixtures', 'images', 'chelsea.png');
const PROMPTS = ['a cat', 'the wooden floor'];
// The model issue's CPU-vs-wgpu tolerance, on logits.
const TOLERANCE = 1e-4;
const scratch = mkdtempSync(join(tmpdir(), 'clipseg-e2e-'));
mkdirSync(ARTIFACTS, { recursive: true });

function cliLogits(args) {
  const out = join(scratch, `cli-${Math.random().toString(36).slice(2)}.npy`);
  execFileSync(CLI, ['segment', '--model', MODEL_DIR, '--image', PHOTO, ...args, '--logits', out]);
  return readNpy(out);
}

function assertClose(actual, expected, what) {
  const error = relativeL2(Float32Array.from(actual), expected);
  assert.ok(error <= TOLERANCE, `${what}: relative L2 error ${error.toExponential(3)} > ${TOLERANCE}`);
}

async function openApp(browser, url, { backend = 'auto', model = MODEL } = {}) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.errors = [];
  page.on('pageerror', (error) => page.errors.push(error.message));
  await page.goto(`${url}?model=${model}&backend=${backend}`);
  return page;
}

const ready = (page) => page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 180_000 });
const idle = (page) => page.waitForFunction(() => document.body.dataset.busy === 'false', null, { timeout: 180_000 });
const message = (page) => page.locator('#message').textContent();

async function upload(page, file) {
  await page.setInputFiles('#file-input', file);
  await idle(page);
}

async function addPrompt(page, text) {
  await page.fill('#prompt-input', text);
  await page.click('#add-prompt');
  await page.waitForFunction((t) => window.clipsegApp.lastResult?.logits?.[t], text, { timeout: 180_000 });
  await idle(page);
}

// The page's logits for a prompt, as plain numbers.
const pageLogits = (page, prompt) => page.evaluate((p) => Array.from(window.clipsegApp.lastResult.logits[p]), prompt);

// Drags a box over the displayed image, from and to fractions of its size.
async function drawBox(page, [fx0, fy0, fx1, fy1]) {
  const stage = await page.locator('#overlay-canvas').boundingBox();
  const at = (fx, fy) => [stage.x + fx * stage.width, stage.y + fy * stage.height];
  await page.mouse.move(...at(fx0, fy0));
  await page.mouse.down();
  await page.mouse.move(...at((fx0 + fx1) / 2, (fy0 + fy1) / 2), { steps: 4 });
  await page.mouse.move(...at(fx1, fy1), { steps: 4 });
  await page.mouse.up();
}

// How many pixels of the overlay canvas are painted.
const paintedPixels = (page) => page.evaluate(() => {
  const canvas = document.querySelector('#overlay-canvas');
  const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
  let painted = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted++;
  return painted;
});

let server;
let reference;
before(async () => {
  server = await serve();
  reference = {
    texts: cliLogits(PROMPTS.flatMap((p) => ['--prompt', p])),
  };
});
after(() => server.close());

for (const webgpu of [true, false]) {
  const backend = webgpu ? 'webgpu' : 'cpu';
  describe(`the page on ${backend}`, () => {
    let browser;
    let page;
    before(async () => {
      browser = await launch({ webgpu });
      page = await openApp(browser, server.url);
      await ready(page);
    });
    after(() => browser.close());

    test(`reports ${backend} as the backend`, async () => {
      assert.ok(existsSync(join(DIST, 'pkg-threads', 'clipseg_bg.wasm')),
        'the site has the threaded module (scripts/build_threads.sh needs rustc-web, cargo-web and rust-web-src)');
      assert.equal(await page.evaluate(() => window.clipsegApp.segmenter.backend), backend);
      const status = await page.locator('#status').textContent();
      assert.match(status, webgpu ? /WebGPU/ : /CPU/);
      // The page is cross-origin isolated, so the CPU runs on the threaded module, a thread per
      // core (the CLI comparisons below then check its logits); WebGPU on the single-thread one.
      const { threads, cores } = await page.evaluate(() => ({
        threads: window.clipsegApp.segmenter.threads, cores: navigator.hardwareConcurrency,
      }));
      assert.equal(threads, webgpu ? 1 : Math.min(cores, 8));
      if (!webgpu && cores > 1) assert.match(status, new RegExp(`CPU \\(wasm, ${threads} threads\\)`));
    });

    test('text prompts give the CLI logits and draw an overlay', async () => {
      await upload(page, PHOTO);
      for (const prompt of PROMPTS) await addPrompt(page, prompt);
      const size = PROMPTS.length;
      // The model's logits side, as the worker reports it, is the CLI's.
      const side = await page.evaluate(() => window.clipsegApp.segmenter.logitsSize);
      const plane = side * side;
      assert.equal(reference.texts.length, PROMPTS.length * plane, `logitsSize ${side}`);
      for (const [i, prompt] of PROMPTS.entries()) {
        assertClose(await pageLogits(page, prompt), reference.texts.subarray(i * plane, (i + 1) * plane), prompt);
      }
      assert.equal(size, PROMPTS.length);
      assert.ok((await paintedPixels(page)) > 0, 'the overlay is drawn');
      assert.equal(await message(page), '');
      await page.screenshot({ path: join(ARTIFACTS, `${backend}-text-prompts.png`) });
    });

    test('a drawn box gives the CLI visual-prompt logits', async () => {
      await drawBox(page, [0.25, 0.2, 0.7, 0.85]);
      await page.waitForFunction(() => window.clipsegApp.lastResult?.box?.logits, null, { timeout: 180_000 });
      await idle(page);
      const { box, logits } = await page.evaluate(() => {
        const result = window.clipsegApp.lastResult.box;
        return { box: result.box, logits: Array.from(result.logits) };
      });
      const [x0, y0, x1, y1] = box;
      assert.ok(x1 > x0 && y1 > y0, `a real box: ${box}`);
      const expected = cliLogits(['--visual-prompt', PHOTO, '--box', box.join(',')]);
      assertClose(logits, expected, `box ${box}`);
      await page.screenshot({ path: join(ARTIFACTS, `${backend}-box-prompt.png`) });
      assert.deepEqual(page.errors, []);
    });
  });
}

describe('bad input', () => {
  let browser;
  let page;
  before(async () => {
    browser = await launch({ webgpu: true });
    page = await openApp(browser, server.url);
    await ready(page);
    await upload(page, PHOTO);
    await addPrompt(page, PROMPTS[0]);
  });
  after(() => browser.close());

  // The image and the prompts the person set up must survive every mistake.
  async function assertWorkKept() {
    assert.equal(await page.locator('li.prompt').count(), 1);
    assert.equal(await page.locator('li.prompt input.prompt-text').inputValue(), PROMPTS[0]);
    const image = await page.evaluate(() => window.clipsegApp.state.image);
    assert.deepEqual([image.width, image.height], [451, 300]);
  }

  test('a file that is not an image', async () => {
    const notImage = join(scratch, 'notes.png');
    writeFileSync(notImage, 'these are not pixels');
    await upload(page, notImage);
    assert.match(await message(page), /not an image|cannot/i);
    await assertWorkKept();
  });

  test('a corrupt image', async () => {
    const corrupt = join(scratch, 'corrupt.png');
    writeFileSync(corrupt, readFileSync(PHOTO).subarray(0, 2000));
    await upload(page, corrupt);
    assert.match(await message(page), /image|decode|corrupt/i);
    await assertWorkKept();
    await page.screenshot({ path: join(ARTIFACTS, 'bad-image.png') });
  });

  test('an empty prompt is not run', async () => {
    await page.fill('#prompt-input', '   ');
    await page.click('#add-prompt');
    await idle(page);
    assert.match(await page.locator('body').textContent(), /empty/i);
    await assertWorkKept();
  });

  test('a zero-area box keeps the page working', async () => {
    const stage = await page.locator('#overlay-canvas').boundingBox();
    await page.mouse.click(stage.x + stage.width / 2, stage.y + stage.height / 2);
    await idle(page);
    assert.match(await message(page), /box/i);
    await assertWorkKept();
  });

  test('the API rejects bad requests with a SegmenterError of a kind, and keeps working', async () => {
    const kinds = await page.evaluate(async () => {
      const seg = window.clipsegApp.segmenter;
      const kind = (request) => seg.segment(request).then(() => 'resolved', (e) => `${e.name} ${e.kind}`);
      return {
        empty: await kind({ prompts: ['   '] }),
        nothing: await kind({}),
        flatBox: await kind({ visual: { box: [10, 10, 10, 50] } }),
        notStrings: await kind({ prompts: [3] }),
        notABox: await kind({ visual: { box: [1, 2, 3] } }),
      };
    });
    assert.deepEqual(kinds, {
      empty: 'SegmenterError prompt',
      nothing: 'SegmenterError prompt',
      flatBox: 'SegmenterError prompt',
      notStrings: 'SegmenterError usage',
      notABox: 'SegmenterError usage',
    });
    const count = await page.evaluate(async () => (await window.clipsegApp.segmenter.segment({ prompts: ['a cat'] })).count);
    assert.equal(count, 1);
    await assertWorkKept();
  });

  test('a lost WebGPU device: the page recovers and still segments', async () => {
    const worker = page.workers().find((w) => w.url().endsWith('/www/worker.js'));
    await worker.evaluate(() => self.gpuDevice.destroy());
    await page.fill('li.prompt input.prompt-text', 'a sleeping cat');
    await page.waitForFunction(() => window.clipsegApp.lastResult?.logits?.['a sleeping cat'], null, { timeout: 180_000 });
    await idle(page);
    assert.match(await page.locator('#notice, #message').allTextContents().then((t) => t.join(' ')), /lost|restart/i);
    await page.screenshot({ path: join(ARTIFACTS, 'device-lost.png') });
  });

  test('a huge image is scaled down with a notice, and survives a lost device', async () => {
    const huge = join(scratch, 'huge.bmp');
    writeFileSync(huge, gradientBmp(5000, 3000));
    await upload(page, huge);
    assert.equal(await message(page), '');
    assert.match(await page.locator('#notice').textContent(), /5000×3000.*4096×2458/);
    const image = await page.evaluate(() => window.clipsegApp.state.image);
    assert.deepEqual([image.width, image.height, image.originalWidth, image.originalHeight], [4096, 2458, 5000, 3000]);
    const worker = page.workers().find((w) => w.url().endsWith('/www/worker.js'));
    await worker.evaluate(() => self.gpuDevice.destroy());
    await page.fill('li.prompt input.prompt-text', 'the sky');
    await page.waitForFunction(() => window.clipsegApp.lastResult?.logits?.['the sky'], null, { timeout: 180_000 });
    await idle(page);
    await page.screenshot({ path: join(ARTIFACTS, 'huge-image.png') });
  });
});

// An uncompressed 24-bit BMP of a colour gradient.
function gradientBmp(width, height) {
  const row = Math.ceil((width * 3) / 4) * 4;
  const bytes = Buffer.alloc(54 + row * height);
  bytes.write('BM', 0, 'latin1');
  bytes.writeUInt32LE(bytes.length, 2);
  bytes.writeUInt32LE(54, 10);
  bytes.writeUInt32LE(40, 14);
  bytes.writeInt32LE(width, 18);
  bytes.writeInt32LE(height, 22);
  bytes.writeUInt16LE(1, 26);
  bytes.writeUInt16LE(24, 28);
  bytes.writeUInt32LE(row * height, 34);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const at = 54 + y * row + x * 3;
      bytes[at] = (x * 255) / width;
      bytes[at + 1] = (y * 255) / height;
      bytes[at + 2] = ((x + y) * 127) / (width + height);
    }
  }
  return bytes;
}

test('a missing model gets a clear message with how to get one', async () => {
  const browser = await launch({ webgpu: true });
  try {
    const page = await openApp(browser, server.url, { model: 'no-such-model' });
    await page.waitForFunction(() => document.querySelector('#message')?.textContent, null, { timeout: 60_000 });
    assert.match(await message(page), /clipseg fetch/);
    assert.match(await message(page), /scripts\/start\.sh/);
    await page.screenshot({ path: join(ARTIFACTS, 'missing-model.png') });
  } finally {
    await browser.close();
  }
});

test('a random-weight demo model is marked with a banner and the command that gets the real one', async () => {
  const manifest = JSON.parse(readFileSync(join(DIST, 'models', 'manifest.json'), 'utf8'));
  assert.equal(manifest.models.find((m) => m.id === MODEL).randomWeights, true, 'the fixture is marked in the manifest');
  // The same files listed as a real model: no banner.
  const root = mkdtempSync(join(scratch, 'site-'));
  for (const entry of ['index.html', 'label.html', 'sw.js', 'www', 'pkg', 'vendor']) symlinkSync(join(DIST, entry), join(root, entry));
  mkdirSync(join(root, 'models'));
  symlinkSync(MODEL_DIR, join(root, 'models', 'real'));
  const real = manifest.models.find((m) => m.id === MODEL);
  writeFileSync(join(root, 'models', 'manifest.json'), JSON.stringify({
    models: [{ ...real, id: 'real', url: 'models/real/', tokenizer: 'models/real/tokenizer.json', randomWeights: false }],
  }));
  const realSite = await serve(root);
  const browser = await launch({ webgpu: false });
  try {
    for (const pageFile of ['', 'label.html']) {
      const page = await openApp(browser, `${server.url}${pageFile}`, { backend: 'cpu' });
      await page.waitForSelector('#demo-banner:not([hidden])');
      const banner = await page.locator('#demo-banner').textContent();
      assert.match(banner, /random weights/);
      assert.match(banner, /noise/);
      assert.match(banner, /bash scripts\/start\.sh/);
      await ready(page);
      await page.screenshot({ path: join(ARTIFACTS, `demo-banner${pageFile ? '-label' : ''}.png`) });
      await page.close();

      const realPage = await openApp(browser, `${realSite.url}${pageFile}`, { backend: 'cpu', model: 'real' });
      await ready(realPage);
      assert.equal(await realPage.locator('#demo-banner').isHidden(), true, `${pageFile || 'index'}: no banner over a real model`);
      await realPage.close();
    }
  } finally {
    await browser.close();
    await realSite.close();
  }
});

test('the site works under a sub-path (a GitHub project page)', async () => {
  const base = '/someone/clipseg-web/';
  const site = await serve(DIST, { base });
  const browser = await launch({ webgpu: false });
  try {
    const context = await browser.newContext();
    const outside = [];
    context.on('response', (response) => {
      const url = new URL(response.url());
      // blob: URLs are in-memory (the threaded module's workers start from one), not requests.
      if (url.protocol === 'blob:') return;
      if (!url.pathname.startsWith(base) || response.status() >= 400) outside.push(`${response.status()} ${response.url()}`);
    });
    const page = await openApp(context, site.url, { backend: 'cpu' });
    await ready(page);
    await upload(page, PHOTO);
    await addPrompt(page, PROMPTS[0]);
    assertClose(await pageLogits(page, PROMPTS[0]), reference.texts.subarray(0, reference.texts.length / PROMPTS.length), 'under a sub-path');
    const scope = await page.evaluate(async () => (await navigator.serviceWorker.ready).scope);
    assert.equal(new URL(scope).pathname, base, 'the service worker serves the sub-path only');
    const label = await openApp(context, `${site.url}label.html`, { backend: 'cpu' });
    await ready(label);
    assert.deepEqual(outside, [], 'every request stays under the sub-path and finds its file');
    assert.deepEqual([...page.errors, ...label.errors], []);
  } finally {
    await browser.close();
    await site.close();
  }
});

// A site whose models are broken: weights cut short, and a config that is not CLIPSeg's.
function brokenSite() {
  const root = mkdtempSync(join(scratch, 'site-'));
  for (const entry of ['index.html', 'sw.js', 'www', 'pkg']) symlinkSync(join(DIST, entry), join(root, entry));
  const models = join(root, 'models');
  const truncated = join(models, 'truncated');
  const wrong = join(models, 'not-clipseg');
  cpSync(MODEL_DIR, truncated, { recursive: true });
  cpSync(MODEL_DIR, wrong, { recursive: true });
  const weights = readFileSync(join(MODEL_DIR, 'model.safetensors'));
  writeFileSync(join(truncated, 'model.safetensors'), weights.subarray(0, weights.length / 2));
  writeFileSync(join(wrong, 'config.json'), JSON.stringify({ model_type: 'bert', hidden_size: 8 }));
  const entry = (id) => ({ id, url: `models/${id}/`, tokenizer: `models/${id}/tokenizer.json`, dtype: 'F16', bytes: 1 });
  writeFileSync(join(models, 'manifest.json'), JSON.stringify({ models: [entry('truncated'), entry('not-clipseg')] }));
  return root;
}

test('an int8 copy of the model, listed beside the f16 one, loads in the page with the masks of f32', async () => {
  const root = mkdtempSync(join(scratch, 'site-'));
  for (const entry of ['index.html', 'sw.js', 'www', 'pkg', 'vendor']) symlinkSync(join(DIST, entry), join(root, entry));
  const int8Dir = join(root, 'models', 'tiny-int8');
  execFileSync(CLI, ['convert', '--from', join(REPO, 'fixtures', MODEL), '--to', int8Dir, '--dtype', 'int8']);
  cpSync(MODEL_DIR, join(root, 'models', MODEL), { recursive: true, dereference: true });
  const manifest = JSON.parse(readFileSync(join(DIST, 'models', 'manifest.json'), 'utf8'));
  const staged = manifest.models.find((m) => m.id === MODEL);
  const int8Bytes = ['config.json', 'model.safetensors', 'tokenizer.json'].reduce((sum, f) => sum + statSync(join(int8Dir, f)).size, 0);
  const int8Entry = { ...staged, id: 'tiny-int8', url: 'models/tiny-int8/', tokenizer: 'models/tiny-int8/tokenizer.json', dtype: 'int8', bytes: int8Bytes, integrity: undefined };
  writeFileSync(join(root, 'models', 'manifest.json'), JSON.stringify({ models: [staged, int8Entry] }));
  const out = join(scratch, 'int8-cli.npy');
  execFileSync(CLI, ['segment', '--model', int8Dir, '--image', PHOTO, '--prompt', 'a cat', '--logits', out]);
  const int8Cli = readNpy(out);
  const site = await serve(root);
  const browser = await launch({ webgpu: false });
  try {
    const page = await openApp(browser, site.url, { backend: 'cpu', model: 'tiny-int8' });
    await ready(page);
    const options = await page.locator('#model-select option').allTextContents();
    assert.ok(options.some((o) => o.startsWith('tiny-int8 (int8)')), options.join(' | '));
    await upload(page, PHOTO);
    await addPrompt(page, 'a cat');
    const logits = await pageLogits(page, 'a cat');
    // The browser dequantizes as the CLI does …
    assertClose(logits, int8Cli, 'int8 logits, page vs CLI');
    // … and the masks are those of the f32 model.
    const f32 = reference.texts.subarray(0, logits.length);
    const same = logits.filter((v, i) => (v > 0) === (f32[i] > 0)).length;
    assert.ok(same / logits.length >= 0.99, `int8 masks agree with f32 on ${(100 * same / logits.length).toFixed(2)}%`);
    await page.screenshot({ path: join(ARTIFACTS, 'int8-model.png') });
    assert.deepEqual(page.errors, []);
  } finally {
    await browser.close();
    await site.close();
  }
});

test('model files are checked against the manifest: a damaged or replaced file is refused or fetched again', async () => {
  const root = mkdtempSync(join(scratch, 'site-'));
  for (const entry of ['index.html', 'sw.js', 'www', 'pkg', 'vendor']) symlinkSync(join(DIST, entry), join(root, entry));
  const served = join(root, 'models', 'm');
  cpSync(MODEL_DIR, served, { recursive: true, dereference: true });
  const staged = JSON.parse(readFileSync(join(DIST, 'models', 'manifest.json'), 'utf8')).models.find((m) => m.id === MODEL);
  assert.match(staged.integrity.weights.sha256, /^[0-9a-f]{64}$/, 'the build writes each file\'s SHA-256');
  const original = readFileSync(join(served, 'model.safetensors'));
  const altered = Buffer.from(original);
  altered[altered.length - 3] ^= 0x40; // a weight's bits: the file still parses
  const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');
  const writeManifest = (weights) => writeFileSync(join(root, 'models', 'manifest.json'), JSON.stringify({
    models: [{ ...staged, id: 'm', url: 'models/m/', tokenizer: 'models/m/tokenizer.json',
      integrity: { ...staged.integrity, weights: { bytes: weights.length, sha256: sha256(weights) } } }],
  }));
  writeManifest(original);
  const site = await serve(root);
  const browser = await launch({ webgpu: false });
  const weightsUrl = `${site.url}models/m/model.safetensors`;
  const cachedWeights = (page) => page.evaluate(async (url) => {
    const hit = await (await caches.open('clipseg-models-v1')).match(url);
    return hit ? Array.from(new Uint8Array(await hit.arrayBuffer()).slice(-8)) : null;
  }, weightsUrl);
  const loaded = async (page) => {
    await ready(page);
    return page.evaluate(() => window.clipsegApp.segmenter.cached);
  };
  try {
    const page = await openApp(browser, site.url, { backend: 'cpu', model: 'm' });
    assert.equal(await loaded(page), false, 'first visit: downloaded');
    await page.reload();
    assert.equal(await loaded(page), true, 'second visit: from the cache');
    // Cached with the hash it was verified to have, so later loads need not hash the weights again.
    const verifiedHash = () => page.evaluate(async (url) => (await (await caches.open('clipseg-models-v1')).match(url))
      .headers.get('X-Clipseg-Verified-Sha256'), weightsUrl);
    assert.equal(await verifiedHash(), sha256(original));
    // A right copy cached without that hash (as an older version cached it) is hashed and kept.
    await page.evaluate(async ({ url, bytes }) => {
      await (await caches.open('clipseg-models-v1')).put(url, new Response(new Uint8Array(bytes)));
    }, { url: weightsUrl, bytes: Array.from(original) });
    await page.reload();
    assert.equal(await loaded(page), true, 'an unmarked right copy is used from the cache');

    // A cached copy damaged in Cache Storage is noticed and fetched again.
    await page.evaluate(async ({ url, bytes }) => {
      await (await caches.open('clipseg-models-v1')).put(url, new Response(new Uint8Array(bytes)));
    }, { url: weightsUrl, bytes: Array.from(altered) });
    await page.reload();
    assert.equal(await loaded(page), false, 'a damaged cached copy is downloaded again');
    assert.deepEqual(await cachedWeights(page), Array.from(original.subarray(-8)), 'and the cache holds the right file');

    // The server's file replaced without rebuilding the site: refused with a clear message.
    writeFileSync(join(served, 'model.safetensors'), altered);
    await page.evaluate(() => caches.delete('clipseg-models-v1'));
    await page.reload();
    await page.waitForFunction(() => document.querySelector('#message')?.textContent, null, { timeout: 60_000 });
    const text = await message(page);
    assert.match(text, /not the file the site's models\/manifest\.json lists/);
    assert.match(text, /rebuilding the site/);
    await page.screenshot({ path: join(ARTIFACTS, 'model-integrity-mismatch.png') });

    // A site rebuilt with a new model under the same URL: the old cached copy is replaced.
    writeFileSync(join(served, 'model.safetensors'), original);
    await page.reload();
    assert.equal(await loaded(page), false);
    writeFileSync(join(served, 'model.safetensors'), altered);
    writeManifest(altered);
    await page.reload();
    assert.equal(await loaded(page), false, 'the new file is downloaded, not the old copy trusted by URL');
    assert.deepEqual(await cachedWeights(page), Array.from(altered.subarray(-8)));
    assert.deepEqual(page.errors, []);
  } finally {
    await browser.close();
    await site.close();
  }
});

test('a partial or wrong model gets a clear message with how to get one', async () => {
  const site = await serve(brokenSite());
  const browser = await launch({ webgpu: false });
  try {
    for (const [model, detail] of [['truncated', /safetensors|truncat|incomplete|read/i], ['not-clipseg', /config/i]]) {
      const page = await openApp(browser, site.url, { model });
      await page.waitForFunction(() => document.querySelector('#message')?.textContent, null, { timeout: 120_000 });
      const text = await message(page);
      assert.match(text, /missing, partial or corrupt/i, model);
      assert.match(text, detail, model);
      assert.match(text, /clipseg fetch/, model);
      await page.screenshot({ path: join(ARTIFACTS, `broken-model-${model}.png`) });
      await page.close();
    }
  } finally {
    await browser.close();
    await site.close();
  }
});

test('with the network off, a reload still segments (Cache Storage + service worker)', async () => {
  const browser = await launch({ webgpu: true });
  const context = await browser.newContext();
  const local = await serve();
  try {
    let page = await context.newPage();
    await page.goto(`${local.url}?model=${MODEL}&backend=auto`);
    await ready(page);
    await page.evaluate(() => navigator.serviceWorker.ready);
    await page.close();
    await local.close();
    page = await context.newPage();
    page.errors = [];
    page.on('pageerror', (error) => page.errors.push(error.message));
    await page.goto(`${local.url}?model=${MODEL}&backend=auto`);
    await ready(page);
    assert.equal(await page.evaluate(() => window.clipsegApp.segmenter.cached), true, 'the model came from the cache');
    await upload(page, PHOTO);
    await addPrompt(page, PROMPTS[0]);
    assertClose(await pageLogits(page, PROMPTS[0]), reference.texts.subarray(0, 352 * 352), 'offline');
    await page.screenshot({ path: join(ARTIFACTS, 'offline.png') });
  } finally {
    await browser.close();
  }
});
