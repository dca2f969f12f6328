// Serves the built site (dist/, or the directory given) on localhost with the types the page
// needs (application/wasm for streaming compilation): `node scripts/serve.mjs [DIR] [PORT] [BASE]`,
// BASE a sub-path to serve it under (`/clipseg-web/`, as a GitHub project page is). Any static
// server works as well; this one needs nothing beyond Node.
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript',
  '.css': 'text/css', '.json': 'application/json', '.wasm': 'application/wasm', '.png': 'image/png',
  '.jpg': 'image/jpeg', '.svg': 'image/svg+xml', '.webmanifest': 'application/manifest+json',
};

/**
 * Cross-origin isolation: browsers give wasm threads (SharedArrayBuffer) only to isolated pages.
 * Every file of the app is same-origin, so nothing it loads is blocked by them. (On static hosts
 * that cannot send headers, www/sw.js adds them to the pages it serves.)
 */
export const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

/**
 * A request handler serving the files under `root` (a folder's index.html for the folder) at the
 * URL path `base`; anything outside `base` is not found. `isolate: false` leaves out the
 * cross-origin isolation headers (a host that cannot send them).
 */
export function staticFiles(root, { base = '/', isolate = true } = {}) {
  return (request, response) => {
    const path = normalize(decodeURIComponent(new URL(request.url, 'http://x').pathname));
    if (!path.startsWith(base)) {
      response.writeHead(404).end('not found');
      return;
    }
    let file = join(root, path.slice(base.length - 1));
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
    if (!file.startsWith(root) || !existsSync(file)) {
      response.writeHead(404).end('not found');
      return;
    }
    response.writeHead(200, {
      'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
      'Content-Length': statSync(file).size,
      'Cache-Control': 'no-cache',
      ...(isolate ? ISOLATION_HEADERS : {}),
    });
    createReadStream(file).pipe(response);
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = resolve(process.argv[2] ?? 'dist');
  const port = Number(process.argv[3] ?? process.env.PORT ?? 8080);
  const base = `/${(process.argv[4] ?? '').replace(/^\/+|\/+$/g, '')}/`.replace('//', '/');
  if (!existsSync(join(root, 'index.html'))) {
    console.error(`error: ${root} has no index.html: build the site first (npm run build)`);
    process.exit(1);
  }
  const server = createServer(staticFiles(root, { base }));
  server.on('error', (error) => {
    console.error(`error: cannot serve on port ${port}: ${error.message} (another port: PORT=8081)`);
    process.exit(1);
  });
  server.listen(port, '127.0.0.1', () => {
    console.log(`serving ${root} at http://localhost:${port}${base} (Ctrl+C stops)`);
  });
}
