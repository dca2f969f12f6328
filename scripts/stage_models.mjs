// Puts the models into the built site: every directory under models/ that holds a loadable model
// (config.json + model.safetensors) goes to <site>/models/ (hard links: no copies of large
// files), with CLIP's tokenizer and a manifest.json listing them with their sizes and storage
// type, so the page can offer a choice and show download progress; then it writes the site's
// package.json (scripts/package_json.mjs) and the service worker's list of app files
// (scripts/app_files.mjs). Trunk runs it after each build (TRUNK_STAGING_DIR is the site being
// written); `node scripts/stage_models.mjs DIR` stages into DIR.
import {
  closeSync, copyFileSync, existsSync, linkSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeAppFiles } from './app_files.mjs';
import { writePackage } from './package_json.mjs';

const models = join(dirname(fileURLToPath(import.meta.url)), '..', 'models');
const site = process.argv[2] ?? process.env.TRUNK_STAGING_DIR;
if (!site) {
  console.error('usage: node scripts/stage_models.mjs SITE_DIR (or run by Trunk)');
  process.exit(2);
}
const staged = join(site, 'models');

// The storage dtype of the weights, from the safetensors header (8-byte length, then JSON):
// F32, F16, or int8 for clipseg's int8 format.
function storedDtype(file) {
  const fd = openSync(file, 'r');
  try {
    const length = Buffer.alloc(8);
    readSync(fd, length, 0, 8, 0);
    const header = Buffer.alloc(Number(length.readBigUInt64LE()));
    readSync(fd, header, 0, header.length, 8);
    const parsed = JSON.parse(header.toString('utf8'));
    // `clipseg convert --dtype int8` marks its format (int8 matrices, f16 rest) in the metadata.
    if (parsed.__metadata__?.clipseg_format === 'int8-per-row') return 'int8';
    const tensors = Object.entries(parsed).filter(([name]) => name !== '__metadata__');
    return tensors.length ? tensors[0][1].dtype : 'unknown';
  } catch {
    return 'unreadable';
  } finally {
    closeSync(fd);
  }
}

// A file's size and SHA-256 (hex).
function digest(file) {
  const hash = createHash('sha256');
  const fd = openSync(file, 'r');
  try {
    const chunk = Buffer.alloc(1 << 22);
    for (let read; (read = readSync(fd, chunk, 0, chunk.length, null)) > 0;) hash.update(chunk.subarray(0, read));
  } finally {
    closeSync(fd);
  }
  return { bytes: statSync(file).size, sha256: hash.digest('hex') };
}

// config.json's `random_weights` (scripts/make_fixtures.py writes it into every model it makes).
function randomWeights(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8')).random_weights === true;
  } catch {
    return false;
  }
}

const entries = existsSync(models) ? readdirSync(models, { withFileTypes: true }) : [];
const list = entries
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .filter((name) => ['config.json', 'model.safetensors'].every((file) => existsSync(join(models, name, file))))
  .sort()
  .map((name) => {
    const dir = join(models, name);
    const hasTokenizer = existsSync(join(dir, 'tokenizer.json'));
    const files = ['config.json', 'model.safetensors', ...(hasTokenizer ? ['tokenizer.json'] : [])];
    const bytes = files.reduce((sum, file) => sum + statSync(join(dir, file)).size, 0);
    const tokenizer = hasTokenizer ? join(dir, 'tokenizer.json') : join(models, 'tokenizer.json');
    return {
      id: name,
      url: `models/${name}/`,
      // Directories without their own tokenizer use CLIP's, which every CLIPSeg checkpoint shares.
      tokenizer: hasTokenizer ? `models/${name}/tokenizer.json` : 'models/tokenizer.json',
      dtype: storedDtype(join(dir, 'model.safetensors')),
      // A random-weight model (the test fixtures, the start script's fallback): the page says so.
      randomWeights: randomWeights(join(dir, 'config.json')),
      bytes,
      // What the worker checks downloads and cached copies against (www/worker.js).
      integrity: {
        config: digest(join(dir, 'config.json')),
        weights: digest(join(dir, 'model.safetensors')),
        tokenizer: digest(tokenizer),
      },
      files,
    };
  });

function place(from, to) {
  rmSync(to, { force: true });
  try {
    linkSync(from, to);
  } catch {
    copyFileSync(from, to);
  }
}

rmSync(staged, { recursive: true, force: true });
mkdirSync(staged, { recursive: true });
place(join(models, 'tokenizer.json'), join(staged, 'tokenizer.json'));
for (const model of list) {
  mkdirSync(join(staged, model.id));
  for (const file of model.files) place(join(models, model.id, file), join(staged, model.id, file));
  delete model.files;
}
writeFileSync(join(staged, 'manifest.json'), `${JSON.stringify({ models: list }, null, 2)}\n`);
console.log(`models in the site: ${list.map((m) => m.id).join(', ') || 'none'}`);
const pkg = writePackage(site);
console.log(`package: ${pkg.name}@${pkg.version}, ${pkg.files.length} files`);
const app = writeAppFiles(site);
console.log(`app shell: ${app.files.length} files, version ${app.version}`);
