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
import { createReadStream, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

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
    const file = path.startsWith('/bench-model/') ? join(MODEL, path.slice('/bench-model/'.length)) : join(REPO, 'dist', path === '/' ? 'index.html' : path);
    if (!existsSync(file) || statSync(file).isDirectory()) return response.writeHead(404).end();
    response.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', 'Content-Length': statSync(file).size });
    createReadStream(file).pipe(response);
  });
  return new Promise((done) => server.listen(0, '127.0.0.1', () => done(server)));
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
} finally {
  await browser.close();
  server.close();
  rmSync(profile, { recursive: true, force: true });
}

console.log(`\n| ${opts.model} | median ms (${RUNS} runs) | goal |\n|---|---:|---|`);
for (const [what, ms, goal] of rows) console.log(`| ${what} | ${typeof ms === 'number' ? ms.toFixed(1) : ms} | ${goal} |`);
