// Times clipseg-web through its JS API (www/clipseg.js from the built site): loading the model from
// Cache Storage, encoding an image, and decoding prompts against the encoded image.
// Results go to window.benchResult (read by scripts/bench_web.mjs) and to the page.
const params = new URLSearchParams(location.search);
const MODEL_URL = params.get('model') ?? '/models/clipseg-full-random/';
const TOKENIZER_URL = params.get('tokenizer') ?? undefined; // for model directories without one
const BACKEND = params.get('backend') ?? 'auto';
// threads=0: the CPU backend on one thread even where the threaded module runs.
const THREADS = params.get('threads') !== '0';

const out = document.getElementById('out');
const log = (line) => {
  console.log(line);
  out.textContent += `\n${line}`;
};

async function timed(label, work) {
  const started = performance.now();
  const value = await work();
  const ms = performance.now() - started;
  log(`${label}: ${ms.toFixed(0)} ms`);
  return [ms, value];
}

const image = async (name) => (await fetch(`/fixtures/images/${name}`)).blob();

// Prompt 0's logits on an 11×11 grid, for the runner's cross-check against ONNX Runtime.
function sampleGrid(logits, size) {
  const values = [];
  for (let y = 16; y < size; y += 32) for (let x = 16; x < size; x += 32) values.push(logits[y * size + x]);
  return values;
}

async function run() {
  // Imported here, not statically, so that a missing build is reported through benchResult.
  const { Segmenter } = await import('/www/clipseg.js');
  // A lost WebGPU device restarts the worker, which distorts the timings: the runner warns.
  const events = [];
  const onEvent = ({ type, message }) => {
    events.push(`${type}: ${message}`);
    log(events.at(-1));
  };
  const options = { modelUrl: MODEL_URL, tokenizerUrl: TOKENIZER_URL, backend: BACKEND, threads: THREADS, onEvent };
  let reported = 0;
  const onProgress = ({ loaded, total }) => {
    if (loaded - reported < total / 10 && loaded < total) return;
    reported = loaded;
    log(`downloading: ${(loaded / 2 ** 20).toFixed(0)} of ${(total / 2 ** 20).toFixed(0)} MiB`);
  };

  // The first load downloads the files into Cache Storage; the second (a new worker, as after a
  // page reload) is the one a returning visitor waits for.
  const [download_ms, first] = await timed('load (network)', () => Segmenter.load({ ...options, onProgress }));
  first.dispose();
  const [load_ms, seg] = await timed('load (Cache Storage)', () => Segmenter.load(options));
  if (!seg.cached) throw new Error('the second load did not come from Cache Storage');
  log(`backend: ${seg.backend} (${seg.adapter}, ${seg.threads} thread(s))`);
  const { files_ms, module_wait_ms, create_ms } = seg.loadTimings;
  log(`load from Cache Storage: files ${files_ms.toFixed(0)} ms, then module ${module_wait_ms.toFixed(0)} ms, model ${create_ms.toFixed(0)} ms`);

  // A different image each time, so that no encoding could be reused.
  const [coffee, astronaut] = await Promise.all([image('coffee_352.png'), image('astronaut_352.png')]);
  const [encode_first_ms] = await timed('first image encode', () => seg.setImage(coffee));
  const [encode_ms] = await timed('second image encode', () => seg.setImage(astronaut));

  // A new prompt each time, so that no text embedding could be reused.
  const segment = async (prompts) => {
    const [ms, r] = await timed(`segment, ${prompts.length} prompt(s)`, () => seg.segment({ prompts }));
    if (r.logits.length !== prompts.length * r.size * r.size) throw new Error(`${r.logits.length} logits`);
    return [ms, r];
  };
  const [decode_first_ms, cat] = await segment(['a photo of a cat']);
  const [decode_ms] = await segment(['a photo of a dog']);
  const [decode2_ms] = await segment(['a photo of a bird', 'a photo of a car']);
  seg.dispose();

  return {
    runtime: 'clipseg-web',
    backend: seg.backend,
    adapter: seg.adapter,
    threads: seg.threads,
    download_ms,
    load_ms,
    load_timings: seg.loadTimings,
    encode_first_ms,
    encode_ms,
    decode_first_ms,
    decode_ms,
    decode2_ms,
    extra_prompt_ms: decode2_ms - decode_ms,
    events,
    // "a photo of a cat" on astronaut_352.png, as in bench/ort.js.
    sample: sampleGrid(cat.logits, cat.size),
  };
}

try {
  window.benchResult = await run();
} catch (error) {
  window.benchResult = { error: String(error?.stack ?? error) };
}
// The sampled logits are for the runner, not for reading.
log(JSON.stringify(window.benchResult, (key, value) => (key === 'sample' ? undefined : value), 1));
