// Makes the built site an installable npm package: <site>/package.json maps the JS API (with its
// types), its workers and the wasm module in `exports`, and lists in `files` exactly the modules
// the entry points load — followed through their imports and `new URL('…', import.meta.url)`
// references — so `npm pack ./dist` leaves out the pages and the models. scripts/stage_models.mjs
// runs it after each build; `node scripts/package_json.mjs DIR` writes DIR/package.json.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The package's modules: export path → file in the site, each with a hand-written .d.ts beside it. */
export const MODULES = { '.': 'www/clipseg.js', './labels': 'www/labels.js' };

/** What the modules load at run time, exported too so that an app or bundler can name them. */
export const ASSETS = {
  './worker': 'www/worker.js',
  './labels-worker': 'www/export-worker.js',
  './wasm': 'pkg/clipseg_bg.wasm',
};

// The references a module makes to other files: static imports and re-exports, dynamic imports,
// and files it resolves against its own URL (workers, the wasm binary).
const REFERENCE =
  /\bfrom\s*['"]([^'"]+)['"]|\bimport\s*\(?\s*['"]([^'"]+)['"]|\bnew URL\(\s*['"]([^'"]+)['"]\s*,\s*import\.meta\.url\s*\)/g;

const typesOf = (module) => module.replace(/\.js$/, '.d.ts');

/** Every file that loading `entries` (paths in `site`) loads, the entries included; sorted. */
export function moduleFiles(site, entries) {
  const found = new Set();
  const visit = (file, from) => {
    if (found.has(file)) return;
    if (!existsSync(join(site, file))) throw new Error(`${file} (loaded by ${from}) is not in ${site}`);
    found.add(file);
    if (!file.endsWith('.js')) return;
    for (const match of readFileSync(join(site, file), 'utf8').matchAll(REFERENCE)) {
      const reference = match[1] ?? match[2] ?? match[3];
      if (!/^\.{0,2}\/|^[\w-]+\.\w+$/.test(reference)) {
        throw new Error(`${file} imports "${reference}": the package has no dependencies, only relative files`);
      }
      visit(posix.normalize(posix.join(posix.dirname(file), reference)), file);
    }
  };
  for (const entry of entries) visit(entry, 'the package');
  return [...found].sort();
}

/** The package's manifest for the site in `site` (the version is the repository's). */
export function packageManifest(site) {
  const { name, version, license } = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8'));
  const exports = {};
  for (const [path, module] of Object.entries(MODULES)) {
    exports[path] = { types: `./${typesOf(module)}`, default: `./${module}` };
  }
  for (const [path, file] of Object.entries(ASSETS)) exports[path] = `./${file}`;
  exports['./package.json'] = './package.json';
  const modules = Object.values(MODULES);
  const files = moduleFiles(site, [...modules, ...modules.map(typesOf), ...Object.values(ASSETS)]);
  return {
    name,
    version,
    description: 'CLIPSeg image segmentation in the browser (WebGPU or the CPU, in a Web Worker): the JS API',
    license,
    type: 'module',
    exports,
    // For tools that read no `exports` (TypeScript's older module resolutions).
    main: `./${MODULES['.']}`,
    types: `./${typesOf(MODULES['.'])}`,
    files,
  };
}

/** Writes `site`/package.json; returns the manifest. */
export function writePackage(site) {
  const manifest = packageManifest(site);
  writeFileSync(join(site, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const site = process.argv[2];
  if (!site) {
    console.error('usage: node scripts/package_json.mjs SITE_DIR');
    process.exit(2);
  }
  const { name, version, files } = writePackage(site);
  console.log(`package: ${name}@${version}, ${files.length} files`);
}
