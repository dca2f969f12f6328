// Times the ONNX export of the model (scripts/make_fixtures.py --full DIR --onnx) in ONNX Runtime
// Web's wasm execution provider (or, with ?ep=webgpu, its WebGPU one): session creation, whole
// forward passes with 1 prompt, and with 2 (ORT has no encode-the-image-once API, so every prompt
// reruns the whole graph).
// Results go to window.benchResult (read by scripts/bench_web.mjs) and to the page.
const params = new URLSearchParams(location.search);
const EP = params.get('ep') ?? 'wasm';
const ort = await import(EP === 'webgpu' ? '/node_modules/onnxruntime-web/dist/ort.webgpu.min.mjs'
  : '/node_modules/onnxruntime-web/dist/ort.wasm.min.mjs');
const MODEL_URL = params.get('model') ?? '/models/clipseg-full-random/model.onnx';
const IMAGE_URL = params.get('image') ?? '/fixtures/images/astronaut_352.png';
// Warm forwards per prompt count; their median is reported.
const RUNS = Number(params.get('runs') ?? 5);

const SIZE = 352;
const CONTEXT = 77;
const EOS = 49407; // <|endoftext|>, also CLIPSeg's padding id
const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];
// Token ids of "a photo of a cat" and "a photo of a dog" from models/tokenizer.json (which gives
// transformers' CLIPTokenizer ids, see fixtures/README.md): <|startoftext|> … <|endoftext|>.
const PROMPTS = [
  [49406, 320, 1125, 539, 320, 2368, 49407],
  [49406, 320, 1125, 539, 320, 1929, 49407],
];
const PROMPT_TEXTS = ['a photo of a cat', 'a photo of a dog'];

const out = document.getElementById('out');
const log = (line) => {
  console.log(line);
  out.textContent += `\n${line}`;
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// pixel_values [1,3,352,352]: the image's RGB bytes as decoded (it must already be 352×352, so no
// resize is involved), then (v/255 - mean)/std, as the model's processor does.
async function pixelValues(url) {
  const blob = await (await fetch(url)).blob();
  const bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  if (bitmap.width !== SIZE || bitmap.height !== SIZE) throw new Error(`${url} is not ${SIZE}×${SIZE}`);
  const context = new OffscreenCanvas(SIZE, SIZE).getContext('2d');
  context.drawImage(bitmap, 0, 0);
  const rgba = context.getImageData(0, 0, SIZE, SIZE).data;
  const data = new Float32Array(3 * SIZE * SIZE);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < SIZE * SIZE; i++) data[c * SIZE * SIZE + i] = (rgba[4 * i + c] / 255 - MEAN[c]) / STD[c];
  }
  return new ort.Tensor('float32', data, [1, 3, SIZE, SIZE]);
}

// input_ids and attention_mask [P,77]: padded with <|endoftext|>, mask 1 on the real tokens.
function textInputs(prompts) {
  const ids = new BigInt64Array(prompts.length * CONTEXT).fill(BigInt(EOS));
  const mask = new BigInt64Array(prompts.length * CONTEXT);
  prompts.forEach((tokens, p) => tokens.forEach((id, j) => {
    ids[p * CONTEXT + j] = BigInt(id);
    mask[p * CONTEXT + j] = 1n;
  }));
  const dims = [prompts.length, CONTEXT];
  return { input_ids: new ort.Tensor('int64', ids, dims), attention_mask: new ort.Tensor('int64', mask, dims) };
}

// Prompt 0's logits on an 11×11 grid, for the runner's cross-check against clipseg-web.
function sampleGrid(logits) {
  const values = [];
  for (let y = 16; y < SIZE; y += 32) for (let x = 16; x < SIZE; x += 32) values.push(logits[y * SIZE + x]);
  return values;
}

async function run() {
  ort.env.wasm.numThreads = 2;
  // Without cross-origin isolation ORT silently falls back to one thread.
  if (!crossOriginIsolated) throw new Error('the page is not cross-origin isolated (COOP/COEP headers)');

  let started = performance.now();
  const bytes = new Uint8Array(await (await fetch(MODEL_URL)).arrayBuffer());
  const fetch_ms = performance.now() - started;
  log(`fetched ${MODEL_URL} (${(bytes.length / 2 ** 20).toFixed(0)} MiB) in ${fetch_ms.toFixed(0)} ms`);

  started = performance.now();
  const session = await ort.InferenceSession.create(bytes, { executionProviders: [EP] });
  const create_ms = performance.now() - started;
  log(`session created in ${create_ms.toFixed(0)} ms`);

  const pixel_values = await pixelValues(IMAGE_URL);
  let sample;
  const forward = async (prompts) => {
    const feeds = { pixel_values, ...textInputs(prompts) };
    const t = performance.now();
    const { logits } = await session.run(feeds);
    const ms = performance.now() - t;
    const expected = [prompts.length, SIZE, SIZE];
    if (logits.dims.join() !== expected.join()) throw new Error(`logits are [${logits.dims}], not [${expected}]`);
    sample ??= sampleGrid(logits.data);
    log(`forward, ${prompts.length} prompt(s): ${ms.toFixed(0)} ms`);
    return ms;
  };

  const first_ms = await forward(PROMPTS.slice(0, 1));
  const runs1 = [];
  for (let i = 0; i < RUNS; i++) runs1.push(await forward(PROMPTS.slice(0, 1)));
  const runs2 = [];
  for (let i = 0; i < RUNS; i++) runs2.push(await forward(PROMPTS));
  await session.release();

  const forward_ms = median(runs1);
  const forward2_ms = median(runs2);
  return {
    runtime: `onnxruntime-web ${ort.env.versions.web}`,
    ep: EP,
    threads: ort.env.wasm.numThreads,
    image: IMAGE_URL,
    prompts: PROMPT_TEXTS,
    fetch_ms,
    create_ms,
    first_ms,
    forward_ms,
    forward_runs: runs1,
    forward2_ms,
    forward2_runs: runs2,
    extra_prompt_ms: forward2_ms - forward_ms,
    sample,
  };
}

try {
  window.benchResult = await run();
} catch (error) {
  window.benchResult = { error: String(error?.stack ?? error) };
}
// The sampled logits are for the runner, not for reading.
log(JSON.stringify(window.benchResult, (key, value) => (key === 'sample' ? undefined : value), 1));
