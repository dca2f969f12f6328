// Every benchmark of the performance targets in one run, side by side with ONNX Runtime on the same
// weights and printed as one table (and JSON, for tracking):
//   - native CPU: `clipseg bench` beside onnxruntime (scripts/bench_compare.py), full-size model;
//   - browser wasm CPU: clipseg-web on one thread and on the threaded module beside onnxruntime-web's
//     wasm backend (scripts/bench_web.mjs --backend cpu), full-size model, headless Chromium;
//   - browser WebGPU: clipseg-web beside onnxruntime-web's WebGPU execution provider on the
//     mid-size model (WebGPU here is SwiftShader, on the CPU);
//   - the wasm modules' sizes, raw and gzipped.
//
//   node scripts/bench.mjs [--full models/bench-full] [--mid models/bench-mid] [--clipseg PATH]
//                          [--python PY] [--runs N] [--json FILE] [--skip-native] [--skip-cpu] [--skip-webgpu]
//
// --full / --mid: model directories under models/ with model.onnx (scripts/make_fixtures.py --full
// DIR --onnx, --mid DIR --onnx). --clipseg: the native CLI (default: the release build under
// CARGO_TARGET_DIR, else the dev one). --python: a Python with onnxruntime, numpy and tokenizers
// (default python3). The site must be built (npm run build).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';

const REPO = resolve(fileURLToPath(import.meta.url), '../..');
const target = process.env.CARGO_TARGET_DIR ?? join(REPO, 'target');

const { values: opts } = parseArgs({
  options: {
    full: { type: 'string', default: 'models/bench-full' },
    mid: { type: 'string', default: 'models/bench-mid' },
    clipseg: { type: 'string' },
    python: { type: 'string', default: 'python3' },
    runs: { type: 'string', default: '5' },
    json: { type: 'string' },
    'skip-native': { type: 'boolean', default: false },
    'skip-cpu': { type: 'boolean', default: false },
    'skip-webgpu': { type: 'boolean', default: false },
  },
});
const clipsegBin = opts.clipseg
  ?? [join(target, 'release', 'clipseg'), join(target, 'debug', 'clipseg')].find((path) => existsSync(path));

const scratch = mkdtempSync(join(tmpdir(), 'clipseg-bench-'));
// Runs one benchmark script (its own table goes to stderr, with its log) and returns its JSON.
function step(name, command, args) {
  const out = join(scratch, `${name}.json`);
  console.error(`\n== ${name}: ${command} ${args.join(' ')}`);
  try {
    const table = execFileSync(command, [...args, '--json', out], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
    process.stderr.write(table);
    return JSON.parse(readFileSync(out, 'utf8'));
  } catch (error) {
    console.error(`${name} failed: ${error.message}`);
    return { error: error.message };
  }
}

const record = { date: new Date().toISOString(), cores: cpus().length, cpu: cpus()[0]?.model };
try {
  if (!opts['skip-native']) {
    record.native = step('native', opts.python, ['scripts/bench_compare.py', '--model', opts.full,
      ...(clipsegBin ? ['--clipseg', clipsegBin] : []), '--runs', opts.runs]);
  }
  if (!opts['skip-cpu']) record.browser_cpu = step('browser-cpu', 'node', ['scripts/bench_web.mjs', '--model', opts.full, '--backend', 'cpu']);
  if (!opts['skip-webgpu']) {
    // One warm ORT forward per prompt count: each takes over a minute on SwiftShader.
    record.browser_webgpu = step('browser-webgpu', 'node', ['scripts/bench_web.mjs', '--model', opts.mid, '--backend', 'webgpu', '--ort-runs', '1']);
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
const wasmSize = (dir) => {
  const path = join(REPO, 'dist', dir, 'clipseg_bg.wasm');
  if (!existsSync(path)) return undefined;
  const bytes = readFileSync(path);
  return { bytes: bytes.length, gzip_bytes: gzipSync(bytes, { level: 9 }).length };
};
record.wasm = { single_thread: wasmSize('pkg'), threads: wasmSize('pkg-threads') };

// The table: each target's measurement, clipseg beside ONNX Runtime, the ratio and the target.
const s = (seconds) => (seconds === undefined || Number.isNaN(seconds) ? '—'
  : seconds >= 1 ? `${seconds.toFixed(2)} s` : `${(seconds * 1000).toFixed(0)} ms`);
const fromMs = (value) => (value === undefined ? undefined : value / 1000);
const pct = (value) => (value === undefined || Number.isNaN(value) ? '—' : `${(value * 100).toFixed(1)} %`);
const times = (value) => (value === undefined || Number.isNaN(value) ? '—' : `${value.toFixed(2)}×`);
const mb = (bytes) => (bytes === undefined ? '—' : `${(bytes / 1e6).toFixed(1)} MB`);
const rows = [];
const row = (path, what, clipseg, ort, ratio, goal) => rows.push([path, what, clipseg, ort, ratio, goal]);

const cs = record.native?.clipseg;
const ortNative = record.native?.ort;
if (cs && ortNative) {
  const extra = cs.embed_text_s + cs.decode_1_s;
  const ortExtra = (ortNative.forward_8_s - ortNative.forward_1_s) / 7;
  row('native CPU', 'image encode / ORT whole forward (1 prompt)', s(cs.encode_image_s), s(ortNative.forward_1_s),
    times(cs.encode_image_s / ortNative.forward_1_s), '≤ 0.80×');
  row('native CPU', 'one extra prompt, share of an encode (ORT: of a forward)', `${s(extra)} = ${pct(extra / cs.encode_image_s)}`,
    `${s(ortExtra)} = ${pct(ortExtra / ortNative.forward_1_s)}`, '', '≤ 5 %');
  row('native CPU', 'decode 8 prompts / decode 1', `${s(cs.decode_8_s)} / ${s(cs.decode_1_s)}`, '', times(cs.decode_8_s / cs.decode_1_s), '≤ 4×');
}
const cpu = record.browser_cpu;
if (cpu?.clipseg && cpu?.ort) {
  const { clipseg: threaded, ort } = cpu;
  const single = cpu['clipseg-1'];
  const both = (of) => `${single ? `${s(fromMs(of(single)))} (1 thread) · ` : ''}${s(fromMs(of(threaded)))} (${threaded.threads} threads)`;
  const imagePrompt = (r) => r.encode_ms + r.decode_ms;
  row('browser wasm CPU', `image + 1 prompt (ORT ${ort.threads} threads)`, both(imagePrompt), s(fromMs(ort.forward_ms)),
    times(imagePrompt(threaded) / ort.forward_ms), '≤ 1.0×');
  row('browser wasm CPU', 'one extra prompt', both((r) => r.extra_prompt_ms), s(fromMs(ort.extra_prompt_ms)),
    times(threaded.extra_prompt_ms / ort.extra_prompt_ms), '< 1.0×');
  row('browser wasm CPU', 'load from Cache Storage / ORT session create', both((r) => r.load_ms), s(fromMs(ort.create_ms)),
    times(threaded.load_ms / ort.create_ms), '≤ 1.0×');
}
const gpu = record.browser_webgpu;
if (gpu?.clipseg) {
  const { clipseg, ort } = gpu;
  const imagePrompt = clipseg.encode_ms + clipseg.decode_ms;
  row('browser WebGPU (mid-size)', 'image + 1 prompt (ORT: WebGPU EP)', s(fromMs(imagePrompt)), s(fromMs(ort?.forward_ms)),
    ort ? times(imagePrompt / ort.forward_ms) : '—', '≤ 0.5×');
  row('browser WebGPU (mid-size)', 'one extra prompt, share of an encode', `${s(fromMs(clipseg.extra_prompt_ms))} = ${pct(clipseg.extra_prompt_ms / clipseg.encode_ms)}`,
    ort ? s(fromMs(ort.extra_prompt_ms)) : '—', '', '≤ 3 %');
}
for (const [name, size] of Object.entries(record.wasm)) {
  if (size) row('download', `wasm module (${name.replace('_', '-')}), gzipped`, `${mb(size.gzip_bytes)} (${mb(size.bytes)} raw)`, '', '', '≤ 4 MB');
}

console.log(`\n${record.date.slice(0, 10)} · ${record.cores} cores (${record.cpu}) · medians after a warm-up\n`);
console.log('| path | measurement | clipseg | ONNX Runtime | ratio | target |');
console.log('|---|---|---:|---:|---:|---|');
for (const cells of rows) console.log(`| ${cells.join(' | ')} |`);
for (const [name, result] of Object.entries(record)) if (result?.error) console.log(`\n${name}: not measured (${result.error})`);
if (cpu?.max_diff_vs_ort !== undefined) {
  console.log(`\ncross-checks: browser CPU logits vs ORT max |diff| ${cpu.max_diff_vs_ort.toExponential(2)}, `
    + `threaded vs single-thread ${cpu.max_diff_threads_vs_single?.toExponential(2)}`
    + (gpu?.max_diff_vs_ort !== undefined ? `; WebGPU vs ORT WebGPU ${gpu.max_diff_vs_ort.toExponential(2)}` : ''));
}
const json = JSON.stringify(record, null, 1);
if (opts.json) writeFileSync(opts.json, `${json}\n`);
else console.log(`\n${json}`);
