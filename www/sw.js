// Offline support for the app shell: every same-origin file but the model weights is served
// from the network when it answers and from this cache when it does not. (The model worker keeps
// the weights in its own cache, with download progress.)
const SHELL_CACHE = 'clipseg-shell-v1';
const MODEL_FILE = /\/models\/[^/]+\/[^/]+$/;
// Fetched at install, so the first visit already works offline afterwards (the page loads these
// before the service worker controls it).
const SHELL = [
  './', 'index.html', 'www/style.css', 'www/app.js', 'www/clipseg.js', 'www/worker.js', 'www/overlay.js',
  'www/png.js', 'www/export-worker.js', 'pkg/clipseg.js', 'pkg/clipseg_bg.wasm', 'models/manifest.json',
];

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(SHELL_CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

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
    return response;
  } catch (error) {
    const cached = await cache.match(request, { ignoreSearch: true });
    if (cached) return cached;
    throw error;
  }
}
