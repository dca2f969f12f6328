// Job planning and result caching (www/plan.js): what the page asks the model next, and what it keeps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ResultCache, boxKey, currentResults, neededKeys, nextJob, queriesOf, textKey, visualPrompt,
} from '../../www/plan.js';

const model = { name: 'segmenter' };
const image = { name: 'photo' };
const plan = (over = {}) => nextJob({
  model, image, encodedBy: model, failed: false, queries: [], vp: null, mix: 0, results: new ResultCache(), ...over,
});
const filled = (keys) => {
  const results = new ResultCache();
  for (const key of keys) results.set(key, { logits: new Float32Array(4), size: 2 });
  return results;
};

test('nothing runs without a model, an image, or after the image failed', () => {
  assert.equal(plan({ model: null, queries: ['a cat'] }), null);
  assert.equal(plan({ image: null, queries: ['a cat'] }), null);
  assert.equal(plan({ failed: true, queries: ['a cat'] }), null);
});

test('an image not encoded by the model in use is encoded first', () => {
  assert.deepEqual(plan({ encodedBy: undefined, queries: ['a cat'] }), { kind: 'encode', image });
  assert.deepEqual(plan({ encodedBy: { other: true } }), { kind: 'encode', image });
});

test('only the text prompts without a result run, in one batch', () => {
  const results = filled([textKey('a cat', 0, null)]);
  const job = plan({ queries: ['a cat', 'the sofa', 'a dog'], results });
  assert.deepEqual(job.request, { prompts: ['the sofa', 'a dog'] });
  assert.deepEqual(job.keys, ['text the sofa', 'text a dog']);
  assert.equal(plan({ queries: ['a cat'], results }), null, 'all cached: nothing to run');
});

test('the box is its own layer: added after the missing texts, run once', () => {
  const vp = visualPrompt({ box: [1, 2, 30, 40] });
  assert.deepEqual(vp, { key: 'image 1,2,30,40', visual: { box: [1, 2, 30, 40] }, box: [1, 2, 30, 40] });
  const job = plan({ queries: ['a cat'], vp });
  assert.deepEqual(job.request, { prompts: ['a cat'], visual: { box: [1, 2, 30, 40] } });
  assert.deepEqual(job.keys, ['text a cat', 'box image 1,2,30,40']);
  // The text result does not depend on the box when nothing is mixed.
  const onlyBox = plan({ queries: ['a cat'], vp, results: filled(['text a cat']) });
  assert.deepEqual(onlyBox.request, { prompts: [], visual: { box: [1, 2, 30, 40] } });
  assert.deepEqual(onlyBox.keys, ['box image 1,2,30,40']);
  assert.equal(plan({ queries: ['a cat'], vp, results: filled(['text a cat', boxKey(vp)]) }), null);
});

test('with a mix, the texts run mixed with the visual prompt, keyed by mix and box', () => {
  const vp = visualPrompt({ box: [0, 0, 10, 10] });
  const job = plan({ queries: ['a cat'], vp, mix: 0.3, results: filled([boxKey(vp)]) });
  assert.deepEqual(job.request, { prompts: ['a cat'], visual: { box: [0, 0, 10, 10] }, mix: 0.3 });
  assert.deepEqual(job.keys, [`text a cat\u0000mix 0.3 image 0,0,10,10`]);
  // The plain text result does not serve the mixed one, nor another mix weight.
  assert.notEqual(plan({ queries: ['a cat'], vp, mix: 0.3, results: filled(['text a cat', boxKey(vp)]) }), null);
  assert.notEqual(plan({ queries: ['a cat'], vp, mix: 0.5, results: filled([...job.keys, boxKey(vp)]) }), null);
  // Mixed texts first; the box layer follows in a later job.
  const both = plan({ queries: ['a cat'], vp, mix: 0.3 });
  assert.equal(both.request.mix, 0.3);
  assert.deepEqual(plan({ queries: ['a cat'], vp, mix: 0.3, results: filled(job.keys) }).keys, [boxKey(vp)]);
  // A mix without a visual prompt is no mix.
  assert.equal(textKey('a cat', 0.3, null), 'text a cat');
});

test('an example image is the visual prompt, whole or boxed, before any box on the image', () => {
  const file = { name: 'example.png' };
  const whole = visualPrompt({ box: [1, 1, 5, 5], example: { id: 3, file, box: null } });
  assert.deepEqual(whole, { key: 'example 3 whole', visual: { image: file }, box: null });
  const boxed = visualPrompt({ example: { id: 3, file, box: [2, 2, 8, 9] } });
  assert.deepEqual(boxed, { key: 'example 3 2,2,8,9', visual: { image: file, box: [2, 2, 8, 9] }, box: [2, 2, 8, 9] });
  assert.equal(visualPrompt({}), null);
});

test('queries: distinct, non-empty, in order', () => {
  const prompts = [{ query: 'a cat' }, { query: '' }, { query: 'the sofa' }, { query: 'a cat' }];
  assert.deepEqual(queriesOf(prompts), ['a cat', 'the sofa']);
});

test('the cache evicts the oldest results the view does not need, never a needed one', () => {
  const cache = new ResultCache(3);
  const needed = new Set(['a', 'b']);
  for (const key of ['a', 'b', 'c', 'd']) cache.set(key, key, needed);
  assert.deepEqual(cache.keys(), ['a', 'b', 'd'], 'c, the oldest unneeded, went');
  cache.set('e', 'e', needed);
  assert.deepEqual(cache.keys(), ['a', 'b', 'e']);
  // Storing a key again makes it the newest.
  cache.set('a', 'a2', new Set());
  cache.set('f', 'f', new Set(['f']));
  assert.deepEqual(cache.keys(), ['e', 'a', 'f']);
  assert.equal(cache.has('b'), false, 'b, the oldest, went once no longer needed');
  assert.equal(cache.get('a'), 'a2');
  // Needed results stay even past the limit.
  const full = new ResultCache(2);
  const all = new Set(['x', 'y', 'z']);
  for (const key of all) full.set(key, key, all);
  assert.equal(full.size, 3);
  full.clear();
  assert.equal(full.size, 0);
});

test('the needed keys and the current results follow the prompts, box and mix', () => {
  const vp = visualPrompt({ box: [0, 0, 4, 4] });
  assert.deepEqual([...neededKeys(['a cat'], vp, 0)], ['text a cat', 'box image 0,0,4,4']);
  assert.deepEqual([...neededKeys(['a cat'], null, 0.5)], ['text a cat']);
  const cat = { logits: new Float32Array([1, 2, 3, 4]), size: 2 };
  const box = { logits: new Float32Array([5, 6, 7, 8]), size: 2 };
  const results = new ResultCache();
  results.set('text a cat', cat);
  results.set(boxKey(vp), box);
  const now = currentResults({ queries: ['a cat', 'a dog'], vp, mix: 0, results });
  assert.deepEqual(now.prompts, ['a cat']);
  assert.equal(now.logits['a cat'], cat.logits);
  assert.deepEqual(now.box, { logits: box.logits, box: [0, 0, 4, 4] });
  assert.equal(now.mix, 0);
  const mixed = currentResults({ queries: ['a cat'], vp, mix: 0.2, results });
  assert.deepEqual(mixed.prompts, [], 'the unmixed result is not the mixed one');
  assert.equal(mixed.mix, 0.2);
});
