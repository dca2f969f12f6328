// Every odd input works or is refused clearly, and the page keeps working after it: image files of
// every kind a person may drop (fixtures/odd/, made by scripts/make_odd_images.py), odd prompts and
// boxes, calls in the wrong order, and model URLs that do not serve a model. Through the JS API
// (each refusal a SegmenterError of a kind, with a message that says what to do) and the page.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { ARTIFACTS, DIST, REPO, launch, serve } from './harness.mjs';
import { staticFiles } from '../../scripts/serve.mjs';

const ODD = join(REPO, 'fixtures', 'odd');
const PHOTO = join(REPO, 'fixtures', 'images', 'chelsea.png');

let server;
let browser;
let page;
const errors = [];
before(async () => {
  server = await serve();
  browser = await launch({ webgpu: false });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(`${server.url}?model=tiny-refined&backend=cpu`);
  await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 120_000 });
});
after(async () => {
  await browser?.close();
  await server?.close();
});

// The page's segmenter run on each case by one of the operations below (functions cannot cross
// into the page, and the page's content policy forbids building them from text); returns per case
// { ok, value } or the error's { name, kind, message }.
const outcomes = (operation, cases) => page.evaluate(async ({ operation, cases }) => {
  const seg = window.clipsegApp.segmenter;
  const operations = {
    async openAndSegment(bytes) {
      const info = await seg.setImage(new File([new Uint8Array(bytes)], 'odd'));
      const result = await seg.segment({ prompts: ['a cat'] });
      return [info.width, info.height, result.count];
    },
    prompts: async (prompts) => (await seg.segment({ prompts })).count,
    box: async (box) => (await seg.segment({ visual: { box } })).count,
  };
  const results = {};
  for (const [name, input] of Object.entries(cases)) {
    try {
      results[name] = { ok: true, value: await operations[operation](input) };
    } catch (error) {
      results[name] = { name: error.name, kind: error.kind, message: error.message };
    }
  }
  return results;
}, { operation, cases });

function assertRefused(result, kind, what) {
  assert.ok(!result.ok, `${what} was accepted: ${JSON.stringify(result)}`);
  assert.equal(result.name, 'SegmenterError', `${what}: ${JSON.stringify(result)}`);
  assert.equal(result.kind, kind, `${what}: ${result.message}`);
  assert.ok(result.message.length > 20, `${what}: a message that explains (${result.message})`);
}

async function stillSegments() {
  const count = await page.evaluate(async () => {
    const seg = window.clipsegApp.segmenter;
    await seg.setImage(window.oddPhoto);
    return (await seg.segment({ prompts: ['a cat'] })).count;
  });
  assert.equal(count, 1, 'the segmenter still works');
}

test('image files of every kind: each opens at its displayed size or is refused as an image error', async () => {
  await page.evaluate(async (bytes) => {
    window.oddPhoto = new File([new Uint8Array(bytes)], 'chelsea.png', { type: 'image/png' });
  }, Array.from(readFileSync(PHOTO)));
  const files = Object.fromEntries(['bomb.bmp', 'empty.png', 'truncated.png', 'text.png', 'page.jpg', 'drawing.svg', 'one-pixel.png',
    'gray-16bit.png', 'cmyk.jpg', 'exif-rotated.jpg', 'animated.gif', 'palette.png', 'alpha.png', 'photo.webp', 'photo.bmp']
    .map((name) => [name, Array.from(readFileSync(join(ODD, name)))]));
  const results = await outcomes('openAndSegment', files);
  for (const name of ['bomb.bmp', 'empty.png', 'truncated.png', 'text.png', 'page.jpg', 'drawing.svg']) {
    assertRefused(results[name], 'image', name);
    assert.match(results[name].message, /PNG, JPEG/, `${name}: says what to use instead`);
  }
  assert.deepEqual(results['one-pixel.png'].value, [1, 1, 1]);
  for (const name of ['gray-16bit.png', 'cmyk.jpg', 'animated.gif', 'palette.png', 'alpha.png', 'photo.webp', 'photo.bmp']) {
    assert.deepEqual(results[name].value, [96, 64, 1], `${name}: ${JSON.stringify(results[name])}`);
  }
  assert.deepEqual(results['exif-rotated.jpg'].value, [64, 96, 1], 'EXIF orientation applied');
  await stillSegments();
});

test('odd prompts and boxes work or are refused as prompt or usage errors', async () => {
  await page.evaluate(async () => window.clipsegApp.segmenter.setImage(window.oddPhoto));
  const prompts = await outcomes('prompts', {
    empty: [''],
    spaces: ['   '],
    rtl: ['قطة على الأريكة'],
    emoji: ['🐱 a cat'],
    nul: ['a\u0000cat'],
    overlong: ['a cat '.repeat(2000)],
    hundreds: Array.from({ length: 300 }, (_, i) => `thing ${i}`),
    many: Array.from({ length: 40 }, (_, i) => `thing ${i}`),
    number: [3],
    nothing: [null],
    object: [{}],
  });
  assertRefused(prompts.empty, 'prompt', 'an empty prompt');
  assertRefused(prompts.spaces, 'prompt', 'a prompt of spaces');
  assertRefused(prompts.hundreds, 'prompt', '300 prompts');
  assert.match(prompts.hundreds.message, /at most 256/);
  for (const name of ['rtl', 'emoji', 'nul', 'overlong']) assert.equal(prompts[name].value, 1, `${name}: ${JSON.stringify(prompts[name])}`);
  assert.equal(prompts.many.value, 40);
  for (const name of ['number', 'nothing', 'object']) assertRefused(prompts[name], 'usage', `a ${name} prompt`);

  // chelsea.png is 451×300.
  const boxes = await outcomes('box', {
    inside: [100, 50, 300, 250],
    outside: [500, 400, 600, 500],
    partlyOutside: [400, 250, 600, 400],
    inverted: [300, 250, 100, 50],
    zeroArea: [100, 100, 100, 200],
    nan: [Number.NaN, 10, 50, 50],
    infinite: [0, 0, Number.POSITIVE_INFINITY, 50],
  });
  assert.equal(boxes.inside.value, 1);
  for (const name of ['outside', 'partlyOutside', 'inverted', 'zeroArea']) assertRefused(boxes[name], 'prompt', `a box ${name}`);
  for (const name of ['nan', 'infinite']) assert.ok(['prompt', 'usage'].includes(boxes[name].kind), `${name}: ${JSON.stringify(boxes[name])}`);
  await stillSegments();
});

test('calls in the wrong order and unknown backends are usage and backend errors', async () => {
  const results = await page.evaluate(async () => {
    const { Segmenter } = await import('./www/clipseg.js');
    const outcome = (promise) => promise.then(() => 'resolved', (e) => `${e.name} ${e.kind}: ${e.message}`);
    const [model] = window.clipsegApp.state.models;
    const fresh = await Segmenter.load({ modelUrl: model.url, tokenizerUrl: model.tokenizer, backend: 'cpu' });
    const before = await outcome(fresh.segment({ prompts: ['a cat'] }));
    fresh.dispose();
    const afterDispose = await outcome(fresh.segment({ prompts: ['a cat'] }));
    return {
      before,
      afterDispose,
      backend: await outcome(Segmenter.load({ modelUrl: model.url, backend: 'quantum' })),
      noUrl: await outcome(Segmenter.load({})),
    };
  });
  assert.match(results.before, /^SegmenterError usage: .*image/i);
  assert.match(results.afterDispose, /^SegmenterError usage/);
  assert.match(results.backend, /^SegmenterError backend: .*webgpu, cpu or auto/);
  assert.match(results.noUrl, /^SegmenterError usage/);
  await stillSegments();
});

test('model URLs that serve no model: an HTML page, a missing tokenizer', async () => {
  // A host that answers every unknown path with its index page (as many static hosts do).
  const files = staticFiles(DIST);
  const spa = createServer((request, response) => {
    const path = new URL(request.url, 'http://x').pathname;
    if (path.startsWith('/models/') && !existsSync(join(DIST, path))) {
      response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(readFileSync(join(DIST, 'index.html')));
      return;
    }
    files(request, response);
  });
  await new Promise((done) => spa.listen(0, '127.0.0.1', done));
  const url = `http://127.0.0.1:${spa.address().port}/`;
  const other = await browser.newPage();
  try {
    await other.goto(`${url}?model=tiny-refined&backend=cpu`);
    await other.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 120_000 });
    const results = await other.evaluate(async () => {
      const { Segmenter } = await import('./www/clipseg.js');
      const outcome = (promise) => promise.then(() => 'resolved', (e) => `${e.name} ${e.kind}: ${e.message}`);
      return {
        html: await outcome(Segmenter.load({ modelUrl: 'models/no-such-model/', backend: 'cpu' })),
        tokenizer: await outcome(Segmenter.load({ modelUrl: 'models/tiny-refined/', tokenizerUrl: 'models/no-tokenizer.json', backend: 'cpu' })),
      };
    });
    assert.match(results.html, /^SegmenterError download: .*config\.json answered with an HTML page.*does not have it/);
    assert.match(results.tokenizer, /^SegmenterError download: .*no-tokenizer\.json/);
  } finally {
    await other.close();
    await new Promise((done) => spa.close(done));
  }
});

test('the page: each odd file is shown or explained, and the page keeps working', async () => {
  for (const name of ['bomb.bmp', 'drawing.svg', 'gray-16bit.png', 'page.jpg', 'exif-rotated.jpg', 'empty.png', 'animated.gif']) {
    await page.setInputFiles('#file-input', join(ODD, name));
    await page.waitForFunction(() => document.body.dataset.busy === 'false', null, { timeout: 120_000 });
    const shown = await page.evaluate(() => window.clipsegApp.state.image?.name);
    const text = await page.locator('#message').textContent();
    assert.ok(shown === name || /not an image|cannot/i.test(text), `${name}: shown ${shown}, message “${text}”`);
  }
  await page.setInputFiles('#file-input', PHOTO);
  await page.fill('#prompt-input', 'a sleeping cat');
  await page.click('#add-prompt');
  await page.waitForFunction(() => window.clipsegApp.lastResult?.logits?.['a sleeping cat'], null, { timeout: 120_000 });
  await page.screenshot({ path: join(ARTIFACTS, 'odd-inputs-after.png') });
  assert.deepEqual(errors, []);
});
