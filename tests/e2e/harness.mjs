// Shared by the end-to-end tests: a static server for the built site, headless Chromium, and the
// native CLI the page's results are compared with.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { staticFiles } from '../../scripts/serve.mjs';

export const REPO = resolve(fileURLToPath(import.meta.url), '../../..');
export const DIST = join(REPO, 'dist');
export const ARTIFACTS = join(REPO, 'tests', 'e2e', 'artifacts');
/** The native CLI the page's results are compared with (scripts/test.sh sets CLIPSEG_BIN). */
export const CLI = process.env.CLIPSEG_BIN ?? join(process.env.CARGO_TARGET_DIR ?? join(REPO, 'target'), 'debug', 'clipseg');

/** A float32 little-endian .npy file → Float32Array. */
export function readNpy(path) {
  const bytes = readFileSync(path);
  const headerLength = bytes.readUInt16LE(8);
  const header = bytes.subarray(10, 10 + headerLength).toString('latin1');
  assert.match(header, /'descr': '<f4'/);
  const data = bytes.subarray(10 + headerLength);
  return new Float32Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.length));
}

/** ‖actual − expected‖ / ‖expected‖ (the tests' measure of logits agreement). */
export function relativeL2(actual, expected) {
  assert.equal(actual.length, expected.length, 'same number of logits');
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < expected.length; i++) {
    diff += (actual[i] - expected[i]) ** 2;
    norm += expected[i] ** 2;
  }
  return Math.sqrt(diff / norm);
}

/**
 * Serves `root` on a free localhost port, at the URL path `base` (with the cross-origin isolation
 * headers unless `isolate` is false); `close()` stops it (the network is then "off").
 */
export async function serve(root = DIST, { base = '/', isolate = true } = {}) {
  const server = createServer(staticFiles(root, { base, isolate }));
  await new Promise((done) => server.listen(0, '127.0.0.1', done));
  const url = `http://127.0.0.1:${server.address().port}${base}`;
  const sockets = new Set();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const close = () => new Promise((done) => {
    for (const socket of sockets) socket.destroy();
    server.close(done);
  });
  return { url, close };
}

const FLAGS = [
  '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--no-first-run',
];

/** Headless Chromium (Debian's), with WebGPU on (SwiftShader here) or off. */
export async function launch({ webgpu = true } = {}) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [...FLAGS, ...(webgpu ? ['--enable-unsafe-webgpu'] : ['--disable-features=WebGPU'])],
  });
}
