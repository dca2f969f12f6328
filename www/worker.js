// The model's thread. It fetches the weights (through Cache Storage, with progress), runs the
// wasm module (burn on WebGPU or on the CPU) and answers the page's requests one at a time, so
// the page never waits on inference. Failures go back as { kind, message } (www/errors.js).
import { kindError } from './errors.js';
import { Transfer, serve } from './rpc.js';

const MODEL_CACHE = 'clipseg-models-v1';
// rayon threads of the threaded module: one per core, up to 8 (each is a Web Worker with its own
// stack in the shared memory; the model's matmuls gain little beyond that).
const MAX_THREADS = 8;

// The wasm modules, each started on first use. dist/pkg/ has WebGPU and a single-thread CPU
// backend; dist/pkg-threads/ (scripts/build_threads.sh, where the site has it) is CPU only, on a
// pool of threads, and needs a cross-origin isolated page (SharedArrayBuffer).
let singleThreadModule = null;
let threadedModule = null;
const singleThread = () => (singleThreadModule ??= (async () => {
  const wasm = await import('../pkg/clipseg.js');
  return { wasm, exports: await wasm.default(), threads: 1 };
})());
const threaded = () => (threadedModule ??= (async () => {
  if (!self.crossOriginIsolated) return null;
  try {
    const wasm = await import('../pkg-threads/clipseg.js');
    const exports = await wasm.default();
    const threads = Math.max(1, Math.min(MAX_THREADS, self.navigator.hardwareConcurrency || 1));
    await wasm.initThreadPool(threads);
    return { wasm, exports, threads };
  } catch (error) {
    console.warn(`clipseg: no wasm threads (${error?.message ?? error}); the CPU backend runs on one thread`);
    return null;
  }
})());
// The module a backend runs on: the CPU on threads where it can (and `threads` allows).
const moduleFor = async (backend, threads) => (backend === 'cpu' && threads && await threaded()) || singleThread();

let session = null;
let lostDevice = null;

// burn asks wgpu for the device; keep a handle on it to tell the page when WebGPU loses it.
if (self.GPUAdapter) {
  const requestDevice = GPUAdapter.prototype.requestDevice;
  GPUAdapter.prototype.requestDevice = async function (...args) {
    const device = await requestDevice.apply(this, args);
    self.gpuDevice = device;
    device.lost.then((info) => {
      lostDevice = info.message || info.reason || 'unknown reason';
      self.postMessage({ event: 'device-lost', message: lostDevice });
    });
    return device;
  };
}

async function webgpuAdapter() {
  if (!self.navigator.gpu) return null;
  try {
    return await navigator.gpu.requestAdapter();
  } catch {
    return null;
  }
}

// The SHA-256 of bytes as lowercase hex (the manifest's form).
async function sha256(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

// A file against the manifest's size and SHA-256 (`expected`; nothing to check without one).
// `knownSha256`: the hash it was verified to have when cached, which spares hashing it again.
async function matches(bytes, expected, knownSha256) {
  return !expected || (bytes.length === expected.bytes && (knownSha256 ?? await sha256(bytes)) === expected.sha256);
}

// The header with which a verified copy is cached: the SHA-256 it was found to have. A load from
// the cache then checks the size and that hash instead of hashing the weights again (0.4–1.2 s
// for the full model's 301 MB in Chromium); copies without it (older versions') are hashed.
const VERIFIED_SHA256 = 'X-Clipseg-Verified-Sha256';

// One file of the model, from Cache Storage or else the network (then cached). With `expected`
// (the manifest's { bytes, sha256 }), a cached copy that differs (damaged, or the site has a new
// model under the same URL) is fetched again, and a download that differs is refused.
async function fetchFile(url, onBytes, expected) {
  const cache = await caches.open(MODEL_CACHE);
  const hit = await cache.match(url);
  if (hit) {
    const bytes = new Uint8Array(await hit.arrayBuffer());
    if (await matches(bytes, expected, hit.headers.get(VERIFIED_SHA256) ?? undefined)) {
      onBytes(bytes.length, bytes.length);
      return { bytes, cached: true };
    }
    await cache.delete(url);
  }
  let response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw kindError('download', `cannot download ${url}: ${error.message} (offline, and not cached yet?)`);
  }
  if (!response.ok) throw kindError('download', `cannot download ${url}: HTTP ${response.status}`);
  // Static hosts that answer every unknown path with their index page say 200 to a missing file.
  if (/text\/html/i.test(response.headers.get('Content-Type') ?? '')) {
    throw kindError('download', `${url} answered with an HTML page, not the model's file: the site does not have `
      + 'it (many hosts answer a missing file with a page). Check the model URL, or rebuild and upload the site with its models/');
  }
  const declared = Number(response.headers.get('Content-Length')) || 0;
  const whole = expected?.bytes || declared;
  const chunks = [];
  let received = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    received += value.length;
    onBytes(received, Math.max(whole, received));
  }
  if (declared && received !== declared) {
    throw kindError('download', `${url} is incomplete: ${received} of ${declared} bytes arrived`);
  }
  const bytes = new Uint8Array(received);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  if (!await matches(bytes, expected)) {
    throw kindError('download', `${url} is not the file the site's models/manifest.json lists `
      + `(${received} bytes with SHA-256 ${(await sha256(bytes)).slice(0, 12)}…, expected ${expected.bytes} bytes with `
      + `${expected.sha256.slice(0, 12)}…): the file on the server is damaged, or was replaced without rebuilding the site`);
  }
  const headers = { 'Content-Length': String(received) };
  if (expected) headers[VERIFIED_SHA256] = expected.sha256;
  await cache.put(url, new Response(bytes, { headers }));
  return { bytes, cached: false };
}

async function forget(urls) {
  const cache = await caches.open(MODEL_CACHE);
  await Promise.all(urls.map((url) => cache.delete(url)));
}

// The files of a model directory: config.json, model.safetensors, tokenizer.json, each checked
// against `integrity` (the manifest's { config, weights, tokenizer: { bytes, sha256 } }) if given.
async function fetchModel(modelUrl, tokenizerUrl, integrity) {
  const urls = {
    config: new URL('config.json', modelUrl).href,
    weights: new URL('model.safetensors', modelUrl).href,
    tokenizer: tokenizerUrl || new URL('tokenizer.json', modelUrl).href,
  };
  const progress = {};
  const report = (file) => (loaded, total) => {
    progress[file] = { loaded, total };
    const sum = (key) => Object.values(progress).reduce((s, p) => s + p[key], 0);
    self.postMessage({ event: 'progress', file, loaded: sum('loaded'), total: sum('total') });
  };
  const files = {};
  for (const [key, url] of Object.entries(urls)) files[key] = await fetchFile(url, report(key), integrity?.[key]);
  return { urls, files, cached: Object.values(files).every((f) => f.cached) };
}

// Pixels for the wasm module: an image file's bytes, or RGBA from a bitmap the browser decoded.
async function pixels(image) {
  if (image.bytes) return [new Uint8Array(image.bytes), undefined, 0, 0];
  if (image.bitmap) {
    const { width, height } = image.bitmap;
    const context = new OffscreenCanvas(width, height).getContext('2d');
    context.drawImage(image.bitmap, 0, 0);
    image.bitmap.close();
    return [undefined, new Uint8Array(context.getImageData(0, 0, width, height).data.buffer), width, height];
  }
  return [undefined, new Uint8Array(image.rgba), image.width, image.height];
}

// Formats the wasm decoder lacks (AVIF, HEIC where supported) still open through the browser.
async function withBrowserFallback(image, use) {
  try {
    return await use(await pixels(image));
  } catch (error) {
    if (!image.bytes || error?.kind !== 'unsupported-image') throw error;
    let bitmap;
    try {
      bitmap = await createImageBitmap(new Blob([image.bytes]));
    } catch {
      throw error;
    }
    return use(await pixels({ bitmap }));
  }
}

function adapterName(adapter) {
  const info = adapter?.info;
  if (session.backend !== 'webgpu' || !info) return 'wasm CPU';
  return [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ') || 'WebGPU adapter';
}

const handlers = {
  async load({ modelUrl, tokenizerUrl, integrity, backend, threads = true }) {
    const adapter = backend === 'cpu' ? null : await webgpuAdapter();
    if (backend === 'webgpu' && !adapter) throw kindError('backend', 'WebGPU is not available in this browser');
    let choice = adapter ? 'webgpu' : 'cpu';
    // The wasm module (and its thread pool) starts while the model's files are read; create()
    // awaits the same promise. Its failure is create()'s to report.
    moduleFor(choice, threads).catch(() => {});
    const timings = { files_ms: 0 };
    let model;
    // Every read of the files counts, the second one too (after a cached copy failed to load).
    const readFiles = async () => {
      const started = performance.now();
      model = await fetchModel(modelUrl, tokenizerUrl, integrity);
      timings.files_ms += performance.now() - started;
    };
    await readFiles();
    let module;
    const create = async (choice) => {
      const { config, weights, tokenizer } = model.files;
      const text = new TextDecoder().decode(config.bytes);
      const waited = performance.now();
      module = await moduleFor(choice, threads);
      const creating = performance.now();
      timings.module_wait_ms = creating - waited;
      const created = await module.wasm.Session.create(choice, text, weights.bytes, tokenizer.bytes);
      timings.create_ms = performance.now() - creating;
      return created;
    };
    let loaded;
    try {
      loaded = await create(choice).catch(async (error) => {
        // `auto` falls back to the CPU when WebGPU itself fails, not when the model is bad.
        if (backend !== 'auto' || choice !== 'webgpu' || error?.kind !== 'backend') throw error;
        choice = 'cpu';
        return create(choice);
      });
    } catch (error) {
      if (!model.cached) throw error;
      // A cached copy that no longer loads (an older or damaged download): fetch it again once.
      await forget(Object.values(model.urls));
      await readFiles();
      loaded = await create(choice);
    }
    session?.free();
    session = loaded;
    // The memory of the module in use, for the soak test's memory curve (it never shrinks, so
    // growth after warm-up is a leak).
    self.wasmMemoryBytes = () => module.exports.memory.buffer.byteLength;
    lostDevice = null;
    return {
      backend: session.backend,
      adapter: adapterName(adapter),
      threads: module.threads,
      cached: model.cached,
      timings,
      inputSize: session.inputSize,
      logitsSize: session.logitsSize,
    };
  },

  // With a `key`, the encoded image is kept in the session's small cache (crate/src/web.rs):
  // setting a kept key again is instant.
  async setImage({ key, ...image }) {
    const started = performance.now();
    const kept = key === undefined ? undefined : live().useImage(key);
    const [width, height] = kept ?? await withBrowserFallback(image, (args) => live().setImage(...args, key));
    return { width, height, timings: { encode_ms: performance.now() - started } };
  },

  async encode({ key, ...image }) {
    const started = performance.now();
    const [width, height] = await withBrowserFallback(image, (args) => live().encode(key, ...args));
    return { width, height, timings: { encode_ms: performance.now() - started } };
  },

  async setExample(image) {
    const [width, height] = await withBrowserFallback(image, async (args) => live().setExample(...args));
    return { width, height };
  },

  async segment({ prompts, visual, box, mix, mask }) {
    const started = performance.now();
    const logits = await live().segment(prompts, visual, box ? Float32Array.from(box) : undefined, mix, mask);
    return new Transfer({ logits, timings: { total_ms: performance.now() - started } }, [logits.buffer]);
  },
};

function live() {
  if (!session) throw kindError('usage', 'no model is loaded');
  if (lostDevice) throw kindError('device-lost', `the WebGPU device was lost (${lostDevice})`);
  return session;
}

// Requests run strictly in order: an image being encoded is never read half-set. A trap
// ("crashed") leaves the wasm instance unusable: the page then starts a new worker.
serve(self, handlers, { serial: true, context: () => ({ deviceLost: lostDevice !== null }) });
