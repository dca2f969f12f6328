// The app shell the service worker caches at install: every file of the built site but the
// models (the model worker caches those itself, with progress; only models/manifest.json is the
// shell's) and the service worker itself. The
// list and a hash of the files' contents are written into the site's sw.js (its `const APP = …`
// line), so that a build that changes any app file is a new service worker with a new cache.
// scripts/stage_models.mjs runs this after staging the models; `node scripts/app_files.mjs DIR`
// does it for a built site in DIR.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const SERVICE_WORKER = 'sw.js';
const APP_LINE = /^const APP = .*;$/m;

/** The site's app files, relative URLs, sorted: everything but sw.js and models/ (bar its manifest). */
export function appFiles(site) {
  const files = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else files.push(relative(site, path).split(sep).join('/'));
    }
  };
  walk(site);
  const isModelFile = (file) => file.startsWith('models/') && file !== 'models/manifest.json';
  return files.filter((file) => file !== SERVICE_WORKER && !isModelFile(file)).sort();
}

/** A short hash of the files' names and contents. */
export function versionOf(site, files) {
  const hash = createHash('sha256');
  for (const file of files) {
    hash.update(`${file}\0`);
    hash.update(readFileSync(join(site, file)));
  }
  return hash.digest('hex').slice(0, 16);
}

/** Writes the list and version into `site`/sw.js; returns { version, files }. */
export function writeAppFiles(site) {
  const files = appFiles(site);
  const app = { version: versionOf(site, files), files: ['./', ...files] };
  const worker = join(site, SERVICE_WORKER);
  const source = readFileSync(worker, 'utf8');
  if (!APP_LINE.test(source)) throw new Error(`${worker} has no "const APP = …;" line to fill in`);
  writeFileSync(worker, source.replace(APP_LINE, () => `const APP = ${JSON.stringify(app)};`));
  return app;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const site = process.argv[2] ?? process.env.TRUNK_STAGING_DIR;
  if (!site) {
    console.error('usage: node scripts/app_files.mjs SITE_DIR (or run by Trunk)');
    process.exit(2);
  }
  const { version, files } = writeAppFiles(site);
  console.log(`app shell: ${files.length} files, version ${version}`);
}
