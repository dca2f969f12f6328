// Failure kinds (www/errors.js) and the API's error class (www/clipseg.js), without a browser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ERROR_KINDS as API_KINDS, SegmenterError as ApiError } from '../../www/clipseg.js';
import {
  ERROR_KINDS, MODEL_KINDS, RESTART_KINDS, SegmenterError, describeError, kindError,
} from '../../www/errors.js';

test('the API exports the kinds and the error class', () => {
  assert.equal(API_KINDS, ERROR_KINDS);
  assert.equal(ApiError, SegmenterError);
  for (const kind of ['config', 'weights', 'tokenizer', 'image', 'unsupported-image', 'prompt', 'usage', 'backend',
    'device', 'io', 'annotations', 'crashed', 'download', 'device-lost']) {
    assert.ok(ERROR_KINDS.includes(kind), kind);
  }
  assert.ok(Object.isFrozen(ERROR_KINDS));
  for (const kind of [...MODEL_KINDS, ...RESTART_KINDS]) assert.ok(ERROR_KINDS.includes(kind), kind);
});

test('a SegmenterError has a kind; `model` is true for model problems only', () => {
  for (const kind of ERROR_KINDS) {
    const error = new SegmenterError('m', { kind });
    assert.equal(error.kind, kind);
    assert.equal(error.model, ['config', 'weights', 'tokenizer', 'download'].includes(kind), kind);
    assert.equal(error.name, 'SegmenterError');
    assert.ok(error instanceof Error);
  }
  assert.equal(new SegmenterError('m').kind, 'usage');
  assert.equal(new SegmenterError('m', { kind: 'no such kind' }).kind, 'internal');
});

test('what the worker reports for each failure', () => {
  // The wasm Session's errors carry their kind.
  const wasm = Object.assign(new Error('config.json: missing field `vision_config`'), { kind: 'config' });
  assert.deepEqual(describeError(wasm), { kind: 'config', message: 'config.json: missing field `vision_config`' });
  assert.deepEqual(describeError(kindError('download', 'HTTP 404')), { kind: 'download', message: 'HTTP 404' });
  // A trap is a crash, whatever happened before.
  assert.deepEqual(describeError(new WebAssembly.RuntimeError('unreachable'), { deviceLost: true }), { kind: 'crashed', message: 'unreachable' });
  // After the device was lost, any failure is "device-lost".
  assert.equal(describeError(Object.assign(new Error('x'), { kind: 'device' }), { deviceLost: true }).kind, 'device-lost');
  // Anything without a known kind is internal; non-errors are described too.
  assert.deepEqual(describeError(new TypeError('bad')), { kind: 'internal', message: 'bad' });
  assert.deepEqual(describeError(Object.assign(new Error('odd'), { kind: 'odd' })), { kind: 'internal', message: 'odd' });
  assert.deepEqual(describeError('a string'), { kind: 'internal', message: 'a string' });
});
