// Nothing leaves the machine: a whole session on both pages (load, open photos, type prompts, draw
// a box, download a mask; label a folder, accept regions, export the dataset) records every
// request the pages, their workers and the service worker make. Any request to another origin
// fails the test, and so does any request body (the app has no reason to send one: every request
// is a GET of its own files). The Content-Security-Policy the pages carry must not be violated
// along the way (a violation would be a feature broken by it, or something it stopped).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ARTIFACTS, REPO, launch, serve } from './harness.mjs';

const PHOTOS = ['chelsea.png', 'rocket.jpg'].map((name) => join(REPO, 'fixtures', 'images', name));
const scratch = mkdtempSync(join(tmpdir(), 'clipseg-privacy-'));
mkdirSync(ARTIFACTS, { recursive: true });

let server;
let browser;
before(async () => {
  server = await serve();
  browser = await launch({ webgpu: false });
});
after(async () => {
  await browser?.close();
  await server?.close();
});

/** A context that records every request and every CSP violation of its pages and workers. */
async function recordedContext() {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, acceptDownloads: true });
  const requests = [];
  context.on('request', (request) => requests.push({
    url: request.url(), method: request.method(), body: request.postDataBuffer(),
  }));
  const violations = [];
  await context.exposeBinding('reportViolation', (_source, text) => violations.push(text));
  await context.addInitScript(() => {
    self.addEventListener('securitypolicyviolation', (event) => {
      self.reportViolation(`${event.violatedDirective}: ${event.blockedURI} (${event.sourceFile}:${event.lineNumber})`);
    });
  });
  return { context, requests, violations };
}

function assertNothingLeft(requests, origin) {
  assert.ok(requests.length > 10, `the session was recorded (${requests.length} requests)`);
  assert.ok(requests.some((r) => r.url.endsWith('/model.safetensors')), "the model worker's requests are recorded too");
  const elsewhere = requests.filter((r) => !['data:', 'blob:'].includes(new URL(r.url).protocol) && new URL(r.url).origin !== origin);
  assert.deepEqual(elsewhere.map((r) => r.url), [], 'no request to another origin');
  const sent = requests.filter((r) => r.method !== 'GET' || r.body?.length);
  assert.deepEqual(sent.map((r) => `${r.method} ${r.url} (${r.body?.length ?? 0} bytes)`), [], 'no request sends anything');
}

test('a session on the segmentation page sends nothing anywhere and breaks no content policy', async () => {
  const { context, requests, violations } = await recordedContext();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(`${server.url}?model=tiny-refined&backend=cpu`);
  await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 120_000 });
  const idle = () => page.waitForFunction(() => document.body.dataset.busy === 'false', null, { timeout: 120_000 });
  await page.setInputFiles('#file-input', PHOTOS[0]);
  await idle();
  await page.fill('#prompt-input', 'a cat');
  await page.click('#add-prompt');
  await page.waitForFunction(() => window.clipsegApp.lastResult?.logits?.['a cat'], null, { timeout: 120_000 });
  const stage = await page.locator('#overlay-canvas').boundingBox();
  await page.mouse.move(stage.x + stage.width * 0.3, stage.y + stage.height * 0.3);
  await page.mouse.down();
  await page.mouse.move(stage.x + stage.width * 0.7, stage.y + stage.height * 0.7, { steps: 5 });
  await page.mouse.up();
  await page.waitForFunction(() => window.clipsegApp.lastResult?.box?.logits, null, { timeout: 120_000 });
  await idle();
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-mask')]);
  await download.saveAs(join(scratch, 'mask.png'));
  // A second photo, and the page reloaded (the service worker now serves the shell).
  await page.setInputFiles('#file-input', PHOTOS[1]);
  await idle();
  await page.reload();
  await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 120_000 });
  assert.equal(await page.evaluate(() => self.crossOriginIsolated), true, 'served isolated (for the wasm threads)');
  assertNothingLeft(requests, new URL(server.url).origin);
  assert.deepEqual(violations, [], 'the Content-Security-Policy is not violated');
  assert.deepEqual(errors, []);
  await context.close();
});

test('a labelling session sends nothing anywhere and breaks no content policy', async () => {
  const { context, requests, violations } = await recordedContext();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('dialog', (dialog) => dialog.accept());
  await page.goto(`${server.url}label.html?model=tiny-refined&backend=cpu`);
  await page.waitForFunction(() => document.body.dataset.restored === 'true' && document.body.dataset.ready === 'true', null, { timeout: 120_000 });
  const folder = join(scratch, 'photos');
  mkdirSync(folder, { recursive: true });
  for (const photo of PHOTOS) copyFileSync(photo, join(folder, photo.split('/').pop()));
  await page.setInputFiles('#folder-input', folder);
  await page.fill('#class-input', 'cat');
  await page.press('#class-input', 'Enter');
  const regionsShown = () => page.waitForFunction(() => {
    const s = window.clipsegLabel.state;
    return s.regions?.imageId === s.currentImageId && document.body.dataset.busy === 'false';
  }, null, { timeout: 120_000 });
  await regionsShown();
  await page.fill('#min-area', '1');
  await page.press('#min-area', 'Enter');
  await page.keyboard.press('Escape');
  await page.keyboard.press('a');
  await page.waitForFunction(() => {
    const s = window.clipsegLabel.state;
    return s.images.find((i) => i.id === s.currentImageId)?.instances.length > 0;
  }, null, { timeout: 60_000 });
  await page.keyboard.press('d');
  await regionsShown();
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-button')]);
  await download.saveAs(join(scratch, 'dataset.zip'));
  await page.screenshot({ path: join(ARTIFACTS, 'privacy-label-session.png') });
  assertNothingLeft(requests, new URL(server.url).origin);
  assert.deepEqual(violations, [], 'the Content-Security-Policy is not violated');
  assert.deepEqual(errors, []);
  await context.close();
});

test('on a host that sends no isolation headers, the service worker adds them', async () => {
  const plain = await serve(undefined, { isolate: false });
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(`${plain.url}?model=tiny-refined&backend=cpu`);
    assert.equal(await page.evaluate(() => self.crossOriginIsolated), false, 'the first visit is not isolated');
    // Without isolation there is no SharedArrayBuffer: the CPU runs on the single-thread module.
    await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 120_000 });
    assert.equal(await page.evaluate(() => window.clipsegApp.segmenter.threads), 1);
    await page.evaluate(async () => navigator.serviceWorker.ready);
    await page.reload();
    assert.equal(await page.evaluate(() => self.crossOriginIsolated), true, 'pages the service worker serves are');
    await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 120_000 });
    const cores = await page.evaluate(() => navigator.hardwareConcurrency);
    assert.equal(await page.evaluate(() => window.clipsegApp.segmenter.threads), Math.min(cores, 8),
      'isolated by the service worker, the CPU runs on threads');
  } finally {
    await context.close();
    await plain.close();
  }
});
