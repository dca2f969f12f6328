// Offline support for the app shell: every same-origin file but the model weights is served
// from the network when it answers and from this cache when it does not. (The model worker keeps
// the weights in its own cache, with download progress.)
//
// The build (scripts/app_files.mjs, run by Trunk's post_build hook) replaces APP below in the
// site's copy with the list of built app files and a hash of their contents, so each build that
// changes a file is a new service worker with a new cache, and the old shell goes.
const APP = { version: 'unbuilt', files: ['./', 'index.html'] };
// Per scope: two copies of the site on one origin (GitHub project pages under one user's domain)
// keep their own shells, and neither deletes the other's.
const SHELL_PREFIX = `clipseg-shell-${self.registration.scope}-`;
const SHELL_CACHE = `${SHELL_PREFIX}${APP.version}`;
const MODEL_FILE = /\/models\/[^/]+\/[^/]+$/;

// Fetched at install, so the first visit already works offline afterwards (the page loads these
// before the service worker controls it).
self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(SHELL_CACHE).then((cache) => cache.addAll(APP.files)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    const names = await caches.keys();
    await Promise.all(names.filter((n) => n.startsWith(SHELL_PREFIX) && n !== SHELL_CACHE).map((n) => caches.delete(n)));
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== self.location.origin || MODEL_FILE.test(url.pathname)) {
    return;
  }
  event.respondWith(networkThenCache(event.request));
});

async function networkThenCache(request) {
  const cache = await caches.open(SHELL_CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(request, response.clone());
    return isolated(request, response);
  } catch (error) {
    const cached = await cache.match(request, { ignoreSearch: true });
    if (cached) return isolated(request, cached);
    throw error;
  }
}

// The app's files served with the cross-origin isolation headers, so the wasm threads'
// SharedArrayBuffer is available on static hosts that cannot send headers (the technique of
// coi-serviceworker). Pages and workers both need them: an isolated page may only start workers
// that are isolated too. The app loads nothing cross-origin, so nothing is blocked by them.
const ISOLATION = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

function isolated(request, response) {
  if (response.headers.get('Cross-Origin-Embedder-Policy')) return response;
  const headers = new Headers(response.headers);
  for (const [name, value] of Object.entries(ISOLATION)) headers.set(name, value);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}
