// The JS API as a package: dist/package.json's exports resolve, `npm pack` of dist/ holds the API,
// its workers, types and wasm but no models or pages, a strict TypeScript app compiles against the
// installed tarball, and examples/embed.html runs on the tarball's files alone, served under a
// sub-path, giving the native CLI's logits and drawing its mask. Needs `dist/` built with the tiny
// fixture model staged (scripts/test.sh does that).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ARTIFACTS, CLI, DIST, REPO, launch, readNpy, relativeL2, serve } from './harness.mjs';
import { typeCheck } from '../types/check.mjs';

const MODEL_DIR = join(REPO, 'models', 'tiny-refined');
const PHOTO = join(REPO, 'fixtures', 'images', 'chelsea.png');
const PROMPT = 'a cat';
const TOLERANCE = 1e-4; // relative L2 on logits, as in app.test.mjs
const scratch = mkdtempSync(join(tmpdir(), 'clipseg-package-'));
// The site as an app that installed the package serves it: the tarball's files under a sub-path,
// next to the example and the models (which the package leaves out).
const site = join(scratch, 'site');
const installed = join(site, 'apps', 'seg');
mkdirSync(ARTIFACTS, { recursive: true });

const manifest = JSON.parse(readFileSync(join(DIST, 'package.json'), 'utf8'));
let packed; // npm pack's report: { filename, files: [{ path }] }
let server;
let browser;
before(async () => {
  const report = execFileSync('npm', ['pack', DIST, '--json', '--pack-destination', scratch], {
    encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
  });
  [packed] = JSON.parse(report);
  mkdirSync(installed, { recursive: true });
  execFileSync('tar', ['-xzf', join(scratch, packed.filename), '-C', installed, '--strip-components=1']);
  for (const dir of ['examples', 'models']) symlinkSync(join(DIST, dir), join(installed, dir));
  copyFileSync(PHOTO, join(site, 'photo.png'));
  execFileSync(CLI, [
    'segment', '--model', MODEL_DIR, '--image', PHOTO, '--prompt', PROMPT,
    '--logits', join(scratch, 'cli.npy'), '--mask', join(site, 'cli-mask.png'),
  ]);
  server = await serve(site);
  browser = await launch({ webgpu: false });
});
after(async () => {
  await browser?.close();
  await server?.close();
});

test("dist/package.json: the repository's version, and every export is a file of the package", () => {
  const root = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8'));
  assert.equal(manifest.name, 'clipseg-web');
  assert.equal(manifest.version, root.version);
  assert.equal(manifest.private, undefined);
  const targets = Object.values(manifest.exports).flatMap((target) => (typeof target === 'string' ? [target] : Object.values(target)));
  for (const target of [...targets, manifest.main, manifest.types]) {
    const file = target.replace(/^\.\//, '');
    assert.ok(existsSync(join(DIST, file)), `${target} is in dist/`);
    assert.ok(file === 'package.json' || manifest.files.includes(file), `${target} is in the package's files`);
  }
  assert.deepEqual(manifest.exports['.'], { types: './www/clipseg.d.ts', default: './www/clipseg.js' });
  assert.equal(manifest.exports['./worker'], './www/worker.js');
  assert.equal(manifest.exports['./wasm'], './pkg/clipseg_bg.wasm');
});

test('npm pack dist: the API, its workers, types and wasm, and no models or pages', () => {
  const files = packed.files.map((file) => file.path);
  for (const file of ['package.json', 'www/clipseg.js', 'www/clipseg.d.ts', 'www/errors.js', 'www/rpc.js', 'www/worker.js',
    'pkg/clipseg.js', 'pkg/clipseg_bg.wasm', 'www/labels.js', 'www/labels.d.ts', 'www/export-worker.js']) {
    assert.ok(files.includes(file), `${file} is packed`);
  }
  const unwanted = files.filter((file) => /^(models|examples)\/|\.html$|^sw\.js$|^www\/(app\.js|page\/|label\/|sw\.js)/.test(file));
  assert.deepEqual(unwanted, []);
});

test('a strict TypeScript app compiles against the installed package', () => {
  const app = join(scratch, 'app');
  mkdirSync(join(app, 'node_modules'), { recursive: true });
  symlinkSync(installed, join(app, 'node_modules', 'clipseg-web'));
  copyFileSync(join(REPO, 'tests', 'types', 'consumer.ts'), join(app, 'consumer.ts'));
  assert.deepEqual(typeCheck([join(app, 'consumer.ts')]).diagnostics, []);
});

test('examples/embed.html on the packed files, under a sub-path: the CLI logits, its mask drawn', async () => {
  const page = await browser.newPage({ viewport: { width: 900, height: 800 } });
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(`${server.url}apps/seg/examples/embed.html?backend=cpu`);
  await page.waitForSelector('#controls:enabled', { timeout: 180_000 });
  assert.match(await page.textContent('#status'), /tiny-refined is ready \(cpu\)/);
  // The page's own module instance of the API (one per URL): record what segment resolves to.
  await page.evaluate(async () => {
    const { Segmenter } = await import(new URL('../www/clipseg.js', location.href));
    const segment = Segmenter.prototype.segment;
    Segmenter.prototype.segment = async function (...args) {
      window.segmented = await segment.apply(this, args);
      return window.segmented;
    };
  });
  await page.setInputFiles('input[name="image"]', PHOTO);
  await page.waitForFunction(() => /Now say what to find/.test(document.querySelector('#status').textContent));
  await page.fill('input[name="prompt"]', PROMPT);
  await page.press('input[name="prompt"]', 'Enter');
  await page.waitForFunction(() => /% of the image/.test(document.querySelector('#status').textContent), null, { timeout: 180_000 });
  await page.screenshot({ path: join(ARTIFACTS, 'embed-example.png') });

  const logits = await page.evaluate(() => Array.from(window.segmented.logits));
  const error = relativeL2(Float32Array.from(logits), readNpy(join(scratch, 'cli.npy')));
  assert.ok(error <= TOLERANCE, `relative L2 error ${error.toExponential(3)} > ${TOLERANCE}`);

  // How much each pixel of the canvas differs from the photo follows the CLI's mask of the same
  // logits: the tiny model's masks are pixel-sized noise, which the canvas's smoothing blurs where
  // the CLI thresholds a bilinear resize, so a correlation (0 for an unrelated mask), not equality.
  const { width, height, correlation } = await page.evaluate(async () => {
    const canvas = document.querySelector('#canvas');
    const { width, height } = canvas;
    const pixels = async (url) => {
      const context = new OffscreenCanvas(width, height).getContext('2d');
      context.drawImage(await createImageBitmap(await (await fetch(url)).blob()), 0, 0);
      return context.getImageData(0, 0, width, height).data;
    };
    const shown = canvas.getContext('2d').getImageData(0, 0, width, height).data;
    const photo = await pixels('/photo.png');
    const mask = await pixels('/cli-mask.png');
    const tint = [];
    const expected = [];
    for (let i = 0; i < shown.length; i += 4) {
      tint.push([0, 1, 2].reduce((sum, c) => sum + Math.abs(shown[i + c] - photo[i + c]), 0));
      expected.push(mask[i] > 127 ? 1 : 0);
    }
    const mean = (values) => values.reduce((sum, v) => sum + v, 0) / values.length;
    const [mt, me] = [mean(tint), mean(expected)];
    let [cross, tt, ee] = [0, 0, 0];
    for (let i = 0; i < tint.length; i++) {
      cross += (tint[i] - mt) * (expected[i] - me);
      tt += (tint[i] - mt) ** 2;
      ee += (expected[i] - me) ** 2;
    }
    return { width, height, correlation: cross / Math.sqrt(tt * ee) };
  });
  assert.deepEqual([width, height], [451, 300], 'the canvas is the photo');
  assert.ok(correlation > 0.5, `the drawn mask follows the CLI's: correlation ${correlation.toFixed(3)}`);
  assert.deepEqual(errors, []);
});
