// Browser benchmark: clipseg-web (bench/clipseg.html, on the built site) next to ONNX Runtime Web
// running the ONNX export of the same model (bench/ort.html), in headless Chromium. Prints a
// markdown table.
//
//   npm run bench:web -- [--model models/clipseg-full-random] [--backend cpu|webgpu|auto]
//                        [--skip-ort] [--skip-clipseg]
//
// The model directory needs model.onnx for ORT (scripts/make_fixtures.py --full DIR --onnx) and
// config.json + model.safetensors (+ tokenizer.json, else models/tokenizer.json) for clipseg-web,
// which also needs dist/ (npm run build).
import { createServer } from 'node:http';
import { createReadStream, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

const REPO = resolve(fileURLToPath(import.meta.url), '../..');
const PAGE_TIMEOUT_MS = 60 * 60 * 1000; // the full model on the wasm CPU backend takes minutes

let opts;
try {
  opts = parseArgs({
    options: {
      model: { type: 'string', default: 'models/clipseg-full-random' },
      backend: { type: 'string', default: 'auto' },
      'skip-ort': { type: 'boolean', default: false },
      'skip-clipseg': { type: 'boolean', default: false },
    },
  }).values;
} catch (error) {
  fail(error.message);
}
if (!['cpu', 'webgpu', 'auto'].includes(opts.backend)) fail(`--backend is cpu, webgpu or auto, not ${opts.backend}`);

function fail(message) {
  console.error(`bench_web: ${message}`);
  process.exit(1);
}

// URL prefix -> directory; everything else is the built site.
const ROOTS = [['/bench/', 'bench'], ['/models/', 'models'], ['/node_modules/', 'node_modules'],
  ['/fixtures/', 'fixtures'], ['/', 'dist']];
const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript',
  '.wasm': 'application/wasm', '.json': 'application/json', '.css': 'text/css', '.png': 'image/png',
  '.jpg': 'image/jpeg', '.svg': 'image/svg+xml',
};

// Static files with the headers that make pages cross-origin isolated (SharedArrayBuffer, so
// wasm threads for ORT).
function handle(request, response) {
  const path = decodeURIComponent(new URL(request.url, 'http://x').pathname);
  const [prefix, dir] = ROOTS.find(([p]) => path.startsWith(p));
  const root = join(REPO, dir);
  let file = resolve(root, path.slice(prefix.length));
  if (file !== root && !file.startsWith(root + sep)) return response.writeHead(403).end();
  if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
  if (!existsSync(file)) return response.writeHead(404).end();
  response.writeHead(200, {
    'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
    'Content-Length': statSync(file).size,
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Embedder-Policy': 'require-corp',
  });
  if (request.method === 'HEAD') return response.end();
  createReadStream(file).pipe(response);
}

// Opens a bench page and waits for its window.benchResult; the page's log goes to stderr.
async function runPage(context, url, name) {
  const page = await context.newPage();
  page.on('console', (message) => console.error(`[${name}] ${message.text()}`));
  try {
    const broken = new Promise((_, reject) => {
      page.on('pageerror', (error) => reject(new Error(`${name}: ${error.message}`)));
      page.on('crash', () => reject(new Error(`${name}: the page crashed (out of memory?)`)));
    });
    await page.goto(url);
    const done = page.waitForFunction(() => window.benchResult, null, { timeout: PAGE_TIMEOUT_MS, polling: 1000 });
    const result = await (await Promise.race([done, broken])).jsonValue();
    if (result.error) throw new Error(`${name}: ${result.error}`);
    return result;
  } finally {
    await page.close();
  }
}

const modelDir = resolve(REPO, opts.model);
const modelPath = relative(join(REPO, 'models'), modelDir);
if (modelPath.startsWith('..') || !existsSync(modelDir)) fail(`--model must be a directory under models/: ${opts.model}`);
const modelUrl = `/models/${modelPath.split(sep).join('/')}/`;

const pages = [];
if (!opts['skip-ort']) {
  if (!existsSync(join(modelDir, 'model.onnx'))) fail(`${opts.model}/model.onnx is missing (make_fixtures.py --full DIR --onnx)`);
  pages.push(['ort', `/bench/ort.html?model=${modelUrl}model.onnx`]);
}
if (!opts['skip-clipseg']) {
  if (!existsSync(join(REPO, 'dist', 'www', 'clipseg.js'))) fail('dist/www/clipseg.js is missing: run `npm run build`');
  for (const file of ['config.json', 'model.safetensors']) {
    if (!existsSync(join(modelDir, file))) fail(`${opts.model}/${file} is missing`);
  }
  const tokenizer = existsSync(join(modelDir, 'tokenizer.json')) ? '' : '&tokenizer=/models/tokenizer.json';
  pages.push(['clipseg', `/bench/clipseg.html?model=${modelUrl}&backend=${opts.backend}${tokenizer}`]);
}
if (!pages.length) fail('nothing to run');

const server = createServer(handle);
await new Promise((done) => server.listen(0, '127.0.0.1', done));
const origin = `http://127.0.0.1:${server.address().port}`;
// A fresh on-disk profile: Cache Storage starts empty, and is not capped like an incognito one.
const profile = mkdtempSync(join(tmpdir(), 'bench-web-'));
const results = {};
try {
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--enable-unsafe-webgpu', '--no-sandbox', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  try {
    for (const [name, path] of pages) results[name] = await runPage(context, origin + path, name);
  } finally {
    await context.close();
  }
} finally {
  server.close();
  rmSync(profile, { recursive: true, force: true });
}

const ms = (value) => (value === undefined ? '—'
  : Math.abs(value) >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${value.toFixed(0)} ms`);
const { ort, clipseg } = results;
const rows = [
  ['load (clipseg: from Cache Storage; ORT: session create)', clipseg?.load_ms, ort?.create_ms],
  ['first image encode / first forward (1 prompt)', clipseg?.encode_first_ms, ort?.first_ms],
  ['second image encode / forward (1 prompt, median of the warm ones)', clipseg?.encode_ms, ort?.forward_ms],
  ['first prompt decode (image encoded)', clipseg?.decode_first_ms, undefined],
  ['prompt decode (image encoded)', clipseg?.decode_ms, undefined],
  ['image + 1 prompt', clipseg && clipseg.encode_ms + clipseg.decode_ms, ort?.forward_ms],
  ['one extra prompt (2 prompts − 1)', clipseg?.extra_prompt_ms, ort?.extra_prompt_ms],
];
console.log(`\nmodel: ${opts.model}\n`);
console.log(`| | clipseg-web (${clipseg ? `${clipseg.backend}: ${clipseg.adapter}` : 'not run'}) | `
  + `${ort ? `${ort.runtime} (wasm, ${ort.threads} threads)` : 'ORT Web (not run)'} |`);
console.log('|---|---:|---:|');
for (const [label, a, b] of rows) console.log(`| ${label} | ${ms(a)} | ${ms(b)} |`);
console.log('');
if (clipseg) console.log(`clipseg-web first load (network into Cache Storage): ${ms(clipseg.download_ms)}`);
for (const event of clipseg?.events ?? []) console.log(`warning: the clipseg-web worker was restarted (${event})`);
if (ort) {
  console.log(`ORT: model fetch ${ms(ort.fetch_ms)}; forwards with 1 prompt ${ort.forward_runs.map(ms).join(', ')}; `
    + `with 2 prompts ${ort.forward2_runs.map(ms).join(', ')}`);
}
if (ort && clipseg) {
  const diff = Math.max(...ort.sample.map((v, i) => Math.abs(v - clipseg.sample[i])));
  console.log(`cross-check: "a photo of a cat" logits on astronaut_352.png, 121 sampled pixels, `
    + `max |clipseg − ORT| = ${diff.toExponential(2)}`);
}
