// The built package's manifest (scripts/package_json.mjs): its `files` are the modules the entry
// points load, followed through imports and import.meta.url references, and nothing else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { moduleFiles } from '../../scripts/package_json.mjs';

function site(files) {
  const root = mkdtempSync(join(tmpdir(), 'clipseg-package-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

test('the files an entry loads: imports, re-exports, workers and the wasm binary, not the pages', () => {
  const root = site({
    'www/api.js': "import { a } from './a.js';\nexport { b } from \"./b.js\";\nconst W = new URL('./worker.js', import.meta.url);",
    'www/a.js': "import './b.js'; const later = () => import('./lazy.js');",
    'www/b.js': '',
    'www/lazy.js': '',
    'www/worker.js': "import init, {\n  Session,\n} from '../pkg/model.js';\nnew URL('config.json', modelUrl);",
    'pkg/model.js': "module_or_path = new URL('model_bg.wasm', import.meta.url);",
    'pkg/model_bg.wasm': '\0asm',
    'www/app.js': "import { a } from './a.js';",
    'index.html': '<script type="module" src="www/app.js"></script>',
    'models/tiny/model.safetensors': 'x',
  });
  assert.deepEqual(moduleFiles(root, ['www/api.js']), [
    'pkg/model.js', 'pkg/model_bg.wasm', 'www/a.js', 'www/api.js', 'www/b.js', 'www/lazy.js', 'www/worker.js',
  ]);
});

test('a missing file or a bare import is an error, not a broken package', () => {
  assert.throws(
    () => moduleFiles(site({ 'www/api.js': "import './gone.js';" }), ['www/api.js']),
    /www\/gone\.js \(loaded by www\/api\.js\) is not in/,
  );
  assert.throws(
    () => moduleFiles(site({ 'www/api.js': "import { zipSync } from 'fflate';" }), ['www/api.js']),
    /imports "fflate": the package has no dependencies/,
  );
});
