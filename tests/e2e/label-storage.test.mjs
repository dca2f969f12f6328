// Storage faults on the labelling page: two tabs on the same project (one edits, the other is
// paused and can take over; no annotation is lost either way), and storage the browser denies
// (reported; labelling and export still work). The quota case is in label.test.mjs.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ARTIFACTS, REPO, launch, serve } from './harness.mjs';

const scratch = mkdtempSync(join(tmpdir(), 'clipseg-storage-'));
const folder = join(scratch, 'photos');
mkdirSync(folder);
for (const name of ['chelsea.png', 'rocket.jpg']) copyFileSync(join(REPO, 'fixtures', 'images', name), join(folder, name));
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

async function openLabel(context) {
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (error) => page.errors.push(error.message));
  page.on('dialog', (dialog) => dialog.accept());
  await page.goto(`${server.url}label.html?model=tiny-refined&backend=cpu`);
  await page.waitForFunction(() => document.body.dataset.restored === 'true', null, { timeout: 60_000 });
  return page;
}

const ready = (page) => page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 120_000 });
const saved = (page) => page.waitForFunction(() => document.body.dataset.busy === 'false' && document.body.dataset.saved === 'true', null, { timeout: 60_000 });
const instanceCount = (page) => page.evaluate(() => window.clipsegLabel.state.images.reduce((n, image) => n + image.instances.length, 0));

// Accepts every region of the active class on the current image; resolves to the instances added.
async function acceptAll(page) {
  const before = await instanceCount(page);
  await page.waitForFunction(() => {
    const s = window.clipsegLabel.state;
    return s.regions?.imageId === s.currentImageId && document.body.dataset.busy === 'false';
  }, null, { timeout: 120_000 });
  await page.keyboard.press('a');
  await page.waitForFunction((n) => window.clipsegLabel.state.images.reduce((m, i) => m + i.instances.length, 0) > n, before, { timeout: 60_000 });
  await saved(page);
  return (await instanceCount(page)) - before;
}

test('two tabs: the second is paused, can take the project over, and no annotation is lost', async () => {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  try {
    const first = await openLabel(context);
    await ready(first);
    await first.setInputFiles('#folder-input', folder);
    await first.fill('#class-input', 'cat');
    await first.press('#class-input', 'Enter');
    await first.fill('#min-area', '1');
    await first.press('#min-area', 'Enter');
    await first.keyboard.press('Escape');
    const inFirst = await acceptAll(first);
    assert.ok(inFirst > 0);

    const second = await openLabel(context);
    await second.waitForFunction(() => document.body.dataset.paused === 'true');
    assert.match(await second.locator('#paused-text').textContent(), /open in another tab.*paused/);
    assert.equal(await second.evaluate(() => document.querySelector('.label-app').inert), true, 'the page is inert');
    await second.keyboard.press('a'); // a shortcut in a paused tab does nothing
    await second.keyboard.press('Control+z');
    await second.screenshot({ path: join(ARTIFACTS, 'label-second-tab-paused.png') });
    assert.equal(await first.evaluate(() => document.body.dataset.paused ?? 'false'), 'false', 'the first tab still edits');

    // The second tab takes over: it goes on from the first tab's saved work.
    await second.click('#take-over');
    await second.waitForFunction(() => document.body.dataset.paused === 'false');
    await first.waitForFunction(() => document.body.dataset.paused === 'true');
    assert.equal(await instanceCount(second), inFirst, 'the first tab’s instances are in the second');
    await ready(second);
    await second.keyboard.press('d'); // the next photo
    const inSecond = await acceptAll(second);
    assert.ok(inSecond > 0);

    // The second tab closes: the first resumes with the second tab's work too.
    await second.close();
    await first.waitForFunction(() => document.body.dataset.paused === 'false', null, { timeout: 30_000 });
    assert.equal(await instanceCount(first), inFirst + inSecond, 'nothing lost in either tab');
    await first.reload();
    await first.waitForFunction(() => document.body.dataset.restored === 'true');
    assert.equal(await instanceCount(first), inFirst + inSecond, 'and it is what is saved');
    assert.deepEqual([...first.errors, ...second.errors], []);
  } finally {
    await context.close();
  }
});

test('storage the browser denies: reported once, and labelling and export still work', async () => {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, acceptDownloads: true });
  await context.addInitScript(() => {
    IDBFactory.prototype.open = () => {
      throw new DOMException('The user denied permission to access the database.', 'SecurityError');
    };
  });
  try {
    const page = await openLabel(context);
    assert.match(await page.locator('#message').textContent(), /cannot be saved in this browser.*denied.*export the dataset before leaving/i);
    assert.match(await page.locator('#save-state').textContent(), /Cannot save|Not saved/);
    await ready(page);
    await page.setInputFiles('#folder-input', folder);
    await page.fill('#class-input', 'cat');
    await page.press('#class-input', 'Enter');
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => {
      const s = window.clipsegLabel.state;
      return s.regions?.imageId === s.currentImageId && document.body.dataset.busy === 'false';
    }, null, { timeout: 120_000 });
    await page.keyboard.press('a');
    await page.waitForFunction(() => window.clipsegLabel.state.images.some((i) => i.instances.length), null, { timeout: 60_000 });
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-button')]);
    await download.saveAs(join(scratch, 'denied.zip'));
    await page.screenshot({ path: join(ARTIFACTS, 'label-storage-denied.png') });
    assert.deepEqual(page.errors, []);
  } finally {
    await context.close();
  }
});
