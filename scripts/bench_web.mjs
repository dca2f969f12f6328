// Browser benchmark: clipseg-web (bench/clipseg.html, on the built site) next to ONNX Runtime Web
// running the ONNX export of the same model (bench/ort.html), in headless Chromium. Prints a
// markdown table.
//
//   npm run bench:web -- [--model models/clipseg-full-random] [--backend cpu|webgpu|auto]
//                        [--skip-ort] [--skip-clipseg] [--json FILE] [--ort-runs N]
//
// On the CPU it runs clipseg-web twice: on the single-thread module and on the threaded one.
// --json FILE: every page's result, for scripts/bench.mjs.
//
// The model directory needs model.onnx for ORT (scripts/make_fixtures.py --full DIR --onnx) and
// config.json + model.safetensors (+ tokenizer.json, else models/tokenizer.json) for clipseg-web,
// which also needs dist/ (npm run build).
import { createServer } from 'node:http';
import { createReadStream, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
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
      json: { type: 'string' },
      // ORT's warm forwards per prompt count (each is a whole forward: minutes on SwiftShader).
      'ort-runs': { type: 'string', default: '5' },
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
  // ORT on the same kind of backend: its WebGPU execution provider beside clipseg-web's WebGPU.
  const ep = opts.backend === 'webgpu' ? '&ep=webgpu' : '';
  pages.push(['ort', `/bench/ort.html?model=${modelUrl}model.onnx${ep}&runs=${Number(opts['ort-runs'])}`]);
}
if (!opts['skip-clipseg']) {
  if (!existsSync(join(REPO, 'dist', 'www', 'clipseg.js'))) fail('dist/www/clipseg.js is missing: run `npm run build`');
  for (const file of ['config.json', 'model.safetensors']) {
    if (!existsSync(join(modelDir, file))) fail(`${opts.model}/${file} is missing`);
  }
  const tokenizer = existsSync(join(modelDir, 'tokenizer.json')) ? '' : '&tokenizer=/models/tokenizer.json';
  const page = `/bench/clipseg.html?model=${modelUrl}&backend=${opts.backend}${tokenizer}`;
  // On the CPU, the single-thread module too (its own worker), beside the threaded one.
  if (opts.backend === 'cpu') pages.push(['clipseg-1', `${page}&threads=0`]);
  pages.push(['clipseg', page]);
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

// Largest difference of prompt 0's sampled logits between two runs (the same image and prompt).
const sampleDiff = (a, b) => (a && b ? Math.max(...a.sample.map((v, i) => Math.abs(v - b.sample[i]))) : undefined);
if (opts.json) {
  const strip = (result) => result && { ...result, sample: undefined };
  const record = {
    model: opts.model,
    backend: opts.backend,
    ...Object.fromEntries(Object.entries(results).map(([k, v]) => [k, strip(v)])),
    max_diff_threads_vs_single: sampleDiff(results.clipseg, results['clipseg-1']),
    max_diff_vs_ort: sampleDiff(results.clipseg, results.ort),
  };
  writeFileSync(opts.json, `${JSON.stringify(record, null, 1)}\n`);
}

const ms = (value) => (value === undefined ? '—'
  : Math.abs(value) >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${value.toFixed(0)} ms`);
const { ort, clipseg } = results;
const single = results['clipseg-1'];
const rows = [
  ['load (clipseg: from Cache Storage; ORT: session create)', (r) => r.load_ms, ort?.create_ms],
  ['first image encode / first forward (1 prompt)', (r) => r.encode_first_ms, ort?.first_ms],
  ['second image encode / forward (1 prompt, median of the warm ones)', (r) => r.encode_ms, ort?.forward_ms],
  ['first prompt decode (image encoded)', (r) => r.decode_first_ms, undefined],
  ['prompt decode (image encoded)', (r) => r.decode_ms, undefined],
  ['image + 1 prompt', (r) => r.encode_ms + r.decode_ms, ort?.forward_ms],
  ['one extra prompt (2 prompts − 1)', (r) => r.extra_prompt_ms, ort?.extra_prompt_ms],
];
const runs = [single, clipseg].filter(Boolean);
const title = (r) => `clipseg-web (${r.backend}: ${r.adapter}${r.backend === 'cpu' ? `, ${r.threads} thread(s)` : ''})`;
console.log(`\nmodel: ${opts.model}\n`);
console.log(`| | ${runs.length ? runs.map(title).join(' | ') : 'clipseg-web (not run)'} | `
  + `${ort ? `${ort.runtime} (${ort.ep === 'webgpu' ? 'WebGPU EP' : `wasm, ${ort.threads} threads`})` : 'ORT Web (not run)'} | clipseg / ORT |`);
console.log(`|---|${'---:|'.repeat(Math.max(runs.length, 1) + 2)}`);
for (const [label, of, b] of rows) {
  const values = runs.map(of);
  const ratio = values.length && b ? `${(values.at(-1) / b).toFixed(2)}×` : '—';
  console.log(`| ${label} | ${(values.length ? values : [undefined]).map(ms).join(' | ')} | ${ms(b)} | ${ratio} |`);
}
console.log('');
if (clipseg) console.log(`clipseg-web first load (network into Cache Storage): ${ms(clipseg.download_ms)}`);
for (const event of clipseg?.events ?? []) console.log(`warning: the clipseg-web worker was restarted (${event})`);
if (ort) {
  console.log(`ORT: model fetch ${ms(ort.fetch_ms)}; forwards with 1 prompt ${ort.forward_runs.map(ms).join(', ')}; `
    + `with 2 prompts ${ort.forward2_runs.map(ms).join(', ')}`);
}
if (single && clipseg) {
  const diff = sampleDiff(clipseg, single);
  console.log(`cross-check: clipseg-web on 1 and on ${clipseg.threads} threads, max |difference| = ${diff.toExponential(2)}`);
}
if (ort && clipseg) {
  const diff = sampleDiff(clipseg, ort);
  console.log(`cross-check: "a photo of a cat" logits on astronaut_352.png, 121 sampled pixels, `
    + `max |clipseg − ORT| = ${diff.toExponential(2)}`);
}
