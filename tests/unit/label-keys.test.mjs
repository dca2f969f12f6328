// The labelling page's keyboard (www/label/keys.js) and class-list files (www/label/classfile.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KEY_HELP, actionFor, classIndexOf } from '../../www/label/keys.js';
import { classesFromCoco, classesFromFile, classesFromText } from '../../www/label/classfile.js';

const key = (k, mods = {}) => actionFor({ key: k, ...mods });

test('keys map to actions', () => {
  assert.equal(key('3'), 'class');
  assert.equal(classIndexOf({ key: '3' }), 2);
  assert.equal(key('0'), 'zoom-fit', '0 is no class: it fits the image');
  assert.equal(key('+'), 'zoom-in');
  assert.equal(key('-'), 'zoom-out');
  assert.equal(key('z', { ctrlKey: true }), 'undo');
  assert.equal(key('Z', { ctrlKey: true, shiftKey: true }), 'redo');
  assert.equal(key('z', { metaKey: true, shiftKey: true }), 'redo', 'Cmd on a Mac');
  assert.equal(key('y', { ctrlKey: true }), 'redo');
  assert.equal(key('ArrowRight'), 'next');
  assert.equal(key('d'), 'next');
  assert.equal(key('ArrowLeft'), 'previous');
  assert.equal(key('A'), 'accept-all');
  assert.equal(key('a', { ctrlKey: true }), null, 'Ctrl+A is the browser’s');
  assert.equal(key('b'), 'tool-box');
  assert.equal(key('['), 'smaller');
  assert.equal(key(']'), 'bigger');
  assert.equal(key('Delete'), 'delete');
  assert.equal(key('Backspace'), 'delete');
  assert.equal(key('Enter'), 'done');
  assert.equal(key('Escape'), 'deselect');
  assert.equal(key('a', { altKey: true }), null);
  assert.equal(key('q'), null);
});

test('the help lists every key once (zoom out shares its line with zoom in)', () => {
  const keys = KEY_HELP.map(([k]) => k);
  assert.ok(keys.includes('+ / −'));
  assert.equal(new Set(keys).size, keys.length);
  assert.ok(keys.includes('Ctrl+Z') && keys.includes('1–9'));
});

test('a text file: one class a line, optional prompts, comments and repeats skipped', () => {
  const text = '\uFEFFcat\r\n\n# animals\ndog: a dog; a puppy\n  Cat \nbicycle\n';
  assert.deepEqual(classesFromText(text), [{ name: 'cat' }, { name: 'dog', prompts: ['a dog', 'a puppy'] }, { name: 'bicycle' }]);
  assert.deepEqual(classesFromFile('names.txt', text).map((c) => c.name), ['cat', 'dog', 'bicycle']);
  assert.throws(() => classesFromFile('empty.txt', '\n# nothing\n'), /lists no class names/);
});

test('a COCO file: its categories by id', () => {
  const coco = { images: [], annotations: [], categories: [{ id: 3, name: 'zebra' }, { id: 1, name: 'person' }, { id: 2, name: 'car' }] };
  assert.deepEqual(classesFromCoco(coco).map((c) => c.name), ['person', 'car', 'zebra']);
  assert.deepEqual(classesFromFile('instances.json', JSON.stringify(coco)).map((c) => c.name), ['person', 'car', 'zebra']);
  assert.throws(() => classesFromFile('bad.json', '{ nope'), /not valid JSON/);
  assert.throws(() => classesFromCoco({ images: [] }), /no COCO "categories"/);
  assert.throws(() => classesFromCoco({ categories: [{ id: 1 }] }), /has no name/);
});

test('a class is one prompt (its phrasings averaged by the model); its cache key follows prompts and example', async () => {
  const { classPrompt, promptKey } = await import('../../www/label/logits.js');
  assert.equal(classPrompt({ prompts: ['a cat'] }), 'a cat');
  assert.deepEqual(classPrompt({ prompts: ['a flag', 'the stars and stripes'] }), ['a flag', 'the stars and stripes']);
  const cls = { prompts: ['a cat', 'a kitten'], exemplar: null };
  assert.notEqual(promptKey(cls), promptKey({ ...cls, prompts: ['a cat'] }));
  assert.notEqual(promptKey(cls), promptKey({ ...cls, exemplar: { imageId: 1, counts: 'abc' } }));
  assert.equal(promptKey(cls), promptKey({ ...cls }));
});
