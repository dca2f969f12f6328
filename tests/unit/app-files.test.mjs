// The service worker's app-file list, written at build time (scripts/app_files.mjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeAppFiles } from '../../scripts/app_files.mjs';

const SW = readFileSync(new URL('../../www/sw.js', import.meta.url), 'utf8');

function site(files) {
  const root = mkdtempSync(join(tmpdir(), 'clipseg-site-'));
  for (const [path, text] of Object.entries({ 'sw.js': SW, ...files })) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

// The APP object the built service worker holds.
const appOf = (root) => JSON.parse(readFileSync(join(root, 'sw.js'), 'utf8').match(/^const APP = (.*);$/m)[1]);

test('every app file but the models and the service worker, with a content version', () => {
  const root = site({
    'index.html': '<html>', 'www/app.js': 'a', 'www/page/view.js': 'v', 'www/sw.js': 'copy', 'pkg/clipseg_bg.wasm': 'w',
    'models/manifest.json': '{}', 'models/tokenizer.json': 't', 'models/tiny/model.safetensors': 'x', 'models/tiny/config.json': 'c',
  });
  const app = writeAppFiles(root);
  assert.deepEqual(app.files, ['./', 'index.html', 'models/manifest.json', 'pkg/clipseg_bg.wasm', 'www/app.js', 'www/page/view.js', 'www/sw.js']);
  assert.match(app.version, /^[0-9a-f]{16}$/);
  assert.deepEqual(appOf(root), app, 'written into sw.js');
  assert.match(readFileSync(join(root, 'sw.js'), 'utf8'), /addEventListener\('install'/, 'the rest of sw.js is kept');
});

test('the version changes with any app file, not with the weights', () => {
  const base = { 'index.html': '<html>', 'www/app.js': 'a', 'models/m/model.safetensors': 'x' };
  const version = (files) => writeAppFiles(site(files)).version;
  const first = version(base);
  assert.equal(version(base), first, 'same files, same version');
  assert.notEqual(version({ ...base, 'www/app.js': 'b' }), first);
  assert.notEqual(version({ ...base, 'www/new.js': '' }), first);
  assert.equal(version({ ...base, 'models/m/model.safetensors': 'y' }), first);
});

test('a site whose sw.js has no APP line is an error', () => {
  const root = site({ 'index.html': '' });
  writeFileSync(join(root, 'sw.js'), '// nothing here\n');
  assert.throws(() => writeAppFiles(root), /no "const APP = …;" line/);
});
