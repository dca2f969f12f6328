// Labelling benchmark: what a person waits for on the labelling page, with a given model (the
// full-size one by default) in headless Chromium. Prints a markdown table.
//
//   node scripts/bench_label.mjs [--model DIR] [--backend cpu|webgpu] [--runs N]
//
// DIR holds config.json, model.safetensors and tokenizer.json (e.g. `clipseg convert` of
// `scripts/make_fixtures.py --full`'s random model); dist/ must be built (npm run build).
// Rows: the background encode of a 4000×3000 photo; "next image" = switching to an image encoded
// in the background + decoding two class prompts + both class masks at full resolution (what must
// happen before the first click); a class mask alone; then the page itself (label.html): hover
// preview and click → instance on the 4000×3000 image once its class mask exists, and the
// JS heap after opening 200 images.
import { createServer } from 'node:http';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { ISOLATION_HEADERS } from './serve.mjs';

const REPO = resolve(fileURLToPath(import.meta.url), '../..');
const { values: opts } = parseArgs({
  options: {
    model: { type: 'string', default: 'models/clipseg-full-random' },
    backend: { type: 'string', default: 'cpu' },
    runs: { type: 'string', default: '3' },
  },
});
const MODEL = resolve(opts.model);
const RUNS = Number(opts.runs);
const PHOTO = join(REPO, 'fixtures', 'images', 'chelsea.png');
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.json': 'application/json', '.wasm': 'application/wasm', '.css': 'text/css' };

// dist/ at /, the model at /bench-model/.
function serve() {
  const server = createServer((request, response) => {
    const path = normalize(decodeURIComponent(new URL(request.url, 'http://x').pathname));
    if (path === '/models/manifest.json') {
      // The labelling page's model choice: the benchmarked model and the tiny one (memory).
      const models = [
        { id: 'bench', url: 'bench-model/', tokenizer: 'bench-model/tokenizer.json' },
        { id: 'tiny-refined', url: 'models/tiny-refined/', tokenizer: 'models/tiny-refined/tokenizer.json' },
      ];
      return response.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ models }));
    }
    const file = path.startsWith('/bench-model/') ? join(MODEL, path.slice('/bench-model/'.length)) : join(REPO, 'dist', path === '/' ? 'index.html' : path);
    if (!existsSync(file) || statSync(file).isDirectory()) return response.writeHead(404).end();
    // Cross-origin isolated, as the site's own server and service worker make it: the CPU backend
    // then runs on the threaded module.
    response.writeHead(200, {
      'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', 'Content-Length': statSync(file).size, ...ISOLATION_HEADERS,
    });
    createReadStream(file).pipe(response);
  });
  return new Promise((done) => server.listen(0, '127.0.0.1', () => done(server)));
}

// Photos on disk for the page's file inputs: 4000×3000 JPEGs, or many small ones.
async function photos(browser, dir, count, width, height) {
  const page = await browser.newPage();
  await page.goto(`${url}models/manifest.json`);
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < count; i++) {
    const bytes = await page.evaluate(async ({ photo, width, height, i }) => {
      const source = await createImageBitmap(new Blob([new Uint8Array(photo)]));
      const canvas = new OffscreenCanvas(width, height);
      const context = canvas.getContext('2d');
      context.drawImage(source, 0, 0, width, height);
      context.fillStyle = `hsl(${(i * 37) % 360} 80% 50%)`; // each photo its own
      context.fillRect((i * 13) % width, (i * 7) % height, width / 8, height / 8);
      return [...new Uint8Array(await (await canvas.convertToBlob({ type: 'image/jpeg', quality: 0.9 })).arrayBuffer())];
    }, { photo: [...readFileSync(PHOTO)], width, height, i });
    writeFileSync(join(dir, `photo-${String(i).padStart(3, '0')}.jpg`), Uint8Array.from(bytes));
  }
  await page.close();
  return dir;
}

async function openLabelling(browser, model) {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.setDefaultTimeout(60 * 60 * 1000);
  page.on('dialog', (dialog) => dialog.accept());
  await page.goto(`${url}label.html?model=${model}&backend=${opts.backend}`);
  await page.waitForFunction(() => document.body.dataset.restored === 'true' && document.body.dataset.ready === 'true');
  return page;
}

const labelState = (page) => page.evaluate(() => JSON.parse(JSON.stringify(window.clipsegLabel.state)));
const regionsOn = (page, imageId) => page.waitForFunction((id) => {
  const s = window.clipsegLabel.state;
  return s.regions && s.regions.imageId === id && s.currentImageId === id && document.body.dataset.busy === 'false';
}, imageId);
// From now until the page has painted (a frame after `done` holds), in page time.
async function pageTime(page, act, done, arg) {
  const started = await page.evaluate(() => performance.now());
  await act();
  await page.waitForFunction(done, arg);
  return (await page.evaluate(() => new Promise((painted) => requestAnimationFrame(() => painted(performance.now()))))) - started;
}

// Hover preview and click → instance on a 4000×3000 photo once its class mask exists, and the
// next photo (encoded in the background) to its class mask.
async function labellingPage(browser) {
  const dir = await photos(browser, join(profile, 'big'), 2, 4000, 3000);
  const page = await openLabelling(browser, 'bench');
  await page.setInputFiles('#folder-input', dir);
  await page.waitForFunction(() => window.clipsegLabel.state.shown?.width === 4000);
  await page.fill('#class-input', 'a cat');
  await page.press('#class-input', 'Enter');
  let s = await labelState(page);
  await regionsOn(page, s.currentImageId);
  s = await labelState(page);
  const byArea = s.regions.areas.map((area, label) => ({ label, area })).filter((r) => r.label > 0).sort((a, b) => b.area - a.area);
  const picks = [byArea[0], byArea[Math.floor(byArea.length / 2)]];
  const screen = (label) => page.evaluate((l) => {
    const p = window.clipsegLabel.pointIn(l);
    return window.clipsegLabel.screenPoint(p.x, p.y);
  }, label);
  // A move over the image that previews nothing new: the cost of the measurement itself.
  const corner = await page.evaluate(() => window.clipsegLabel.screenPoint(1, 1));
  const baseline = [];
  for (let i = 0; i < RUNS; i++) {
    baseline.push(await pageTime(page, () => page.mouse.move(corner.x + (i % 2), corner.y), () => true));
  }
  row('(measurement round trip: a mouse move and a frame)', median(baseline));
  for (const [name, pick] of [['largest', picks[0]], ['median', picks[1]]]) {
    const at = await screen(pick.label);
    await page.mouse.move(corner.x, corner.y);
    const first = await pageTime(page, () => page.mouse.move(at.x, at.y), (f) => /Click: add/.test(document.querySelector(f).textContent), '#hover-info');
    const again = [];
    for (let i = 0; i < RUNS; i++) {
      await page.mouse.move(corner.x, corner.y);
      await page.waitForFunction((f) => !/Click: add/.test(document.querySelector(f).textContent), '#hover-info');
      again.push(await pageTime(page, () => page.mouse.move(at.x, at.y), (f) => /Click: add/.test(document.querySelector(f).textContent), '#hover-info'));
    }
    row(`hover preview, ${name} region (${pick.area} px), first / again`, `${first.toFixed(1)} / ${median(again).toFixed(1)}`, '≤ 50 ms');
    const before = (await labelState(page)).images[0].instances.length;
    const click = await pageTime(page, () => page.mouse.click(at.x, at.y), (n) => window.clipsegLabel.state.images[0].instances.length > n, before);
    row(`click → instance, ${name} region (${pick.area} px)`, click, '≤ 50 ms');
    await page.keyboard.press('Escape');
  }
  // The next photo: encoded in the background while this one was labelled.
  await page.waitForFunction(() => window.clipsegLabel.state.encodes.ahead >= 1);
  const next = s.images[1].id;
  const nextMs = await pageTime(page, () => page.keyboard.press('d'), (id) => {
    const st = window.clipsegLabel.state;
    return st.regions?.imageId === id && st.currentImageId === id;
  }, next);
  row('next photo (4000×3000, encoded ahead) → its class regions ready', nextMs);
  await page.close();
}

// The page's memory after moving through `count` photos with a class active (tiny model: the
// page's own footprint, not the model's).
async function memoryAfterImages(browser, count) {
  const dir = await photos(browser, join(profile, 'many'), count, 640, 480);
  const page = await openLabelling(browser, 'tiny-refined');
  const cdp = await page.context().newCDPSession(page);
  const heap = async () => {
    await cdp.send('HeapProfiler.collectGarbage');
    return page.evaluate(() => performance.memory.usedJSHeapSize / 1e6);
  };
  const start = await heap();
  await page.setInputFiles('#folder-input', dir);
  await page.waitForFunction(() => window.clipsegLabel.state.shown?.width === 640);
  await page.fill('#class-input', 'a cat');
  await page.press('#class-input', 'Enter');
  await page.keyboard.press('Escape'); // the keys back to the page (D: next photo)
  let s = await labelState(page);
  const started = Date.now();
  for (let i = 0; i < count; i++) {
    await regionsOn(page, s.currentImageId);
    if (i + 1 < count) {
      await page.keyboard.press('d');
      await page.waitForFunction((id) => window.clipsegLabel.state.currentImageId !== id, s.currentImageId);
      s = await labelState(page);
    }
  }
  const seconds = (Date.now() - started) / 1000;
  row(`page JS heap: empty → after ${count} photos visited with a class (MB)`, `${start.toFixed(1)} → ${(await heap()).toFixed(1)}`);
  row(`${count} photos visited (tiny model): per photo, ms`, (seconds * 1000) / count);
  await page.close();
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows = [];
const row = (what, ms, goal = '') => {
  rows.push([what, ms, goal]);
  console.error(`${what}: ${typeof ms === 'number' ? ms.toFixed(1) : ms}`);
};

const server = await serve();
const url = `http://127.0.0.1:${server.address().port}/`;
// A profile on disk: an in-memory one cannot cache a full-size model in Cache Storage.
const profile = mkdtempSync(join(tmpdir(), 'bench-label-'));
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', opts.backend === 'webgpu' ? '--enable-unsafe-webgpu' : '--disable-features=WebGPU', '--enable-precise-memory-info'],
});
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(60 * 60 * 1000);
  await page.goto(`${url}models/manifest.json`);
  const engine = await page.evaluate(async ({ photo, backend, runs }) => {
    const { Segmenter } = await import('/www/clipseg.js');
    const { Labels } = await import('/www/labels.js');
    // A 4000×3000 JPEG made from a real photo.
    const source = await createImageBitmap(new Blob([new Uint8Array(photo)]));
    const canvas = new OffscreenCanvas(4000, 3000);
    canvas.getContext('2d').drawImage(source, 0, 0, 4000, 3000);
    const big = await canvas.convertToBlob({ type: 'image/jpeg', quality: 0.9 });
    const other = await canvas.convertToBlob({ type: 'image/jpeg', quality: 0.8 });
    const segmenter = await Segmenter.load({ modelUrl: '/bench-model/', backend });
    const labels = new Labels();
    const time = async (work) => {
      const started = performance.now();
      await work();
      return performance.now() - started;
    };
    const prompts = ['a cat', 'the floor'];
    const out = { backend: segmenter.backend, encode: [], next: [], classMask: [] };
    await segmenter.setImage(big, { key: 'a' });
    await segmenter.segment({ prompts }); // text conditionals cached, as after the first image
    for (let run = 0; run < runs; run++) {
      out.encode.push(await time(() => segmenter.encode(other, { key: `b${run}` })));
      let logits;
      out.next.push(await time(async () => {
        const image = await segmenter.setImage(other, { key: `b${run}` });
        ({ logits } = await segmenter.segment({ prompts }));
        const size = segmenter.logitsSize;
        for (let c = 0; c < prompts.length; c++) {
          await labels.classMask({ logits: logits.slice(c * size * size, (c + 1) * size * size), size, width: image.width, height: image.height, threshold: 0.5 });
        }
      }));
      const size = segmenter.logitsSize;
      out.classMask.push(await time(() => labels.classMask({ logits: logits.slice(0, size * size), size, width: 4000, height: 3000, threshold: 0.5 })));
    }
    return out;
  }, { photo: [...readFileSync(PHOTO)], backend: opts.backend, runs: RUNS });
  row(`background encode of a 4000×3000 photo (${engine.backend})`, median(engine.encode));
  row('next image → class masks of 2 classes ready (encoded in the background)', median(engine.next));
  row('one class mask + regions at 4000×3000', median(engine.classMask));
  await page.close();
  await labellingPage(browser);
  await memoryAfterImages(browser, 200);
} finally {
  await browser.close();
  server.close();
  rmSync(profile, { recursive: true, force: true });
}

console.log(`\n| ${opts.model} | median ms (${RUNS} runs) | goal |\n|---|---:|---|`);
for (const [what, ms, goal] of rows) console.log(`| ${what} | ${typeof ms === 'number' ? ms.toFixed(1) : ms} | ${goal} |`);
