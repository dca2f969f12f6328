// The request/response helper shared by the model's and the export worker's clients (www/rpc.js),
// both ends, with fake workers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Transfer, connect, serve } from '../../www/rpc.js';

class FakeWorker {
  sent = [];
  terminated = false;
  postMessage(data, transfer) {
    this.sent.push({ data, transfer });
  }
  terminate() {
    this.terminated = true;
  }
  reply(data) {
    this.onmessage({ data });
  }
}

const toError = ({ kind, message }) => Object.assign(new Error(message), { kind });

test('requests get ids; answers resolve or reject the request with that id, in any order', async () => {
  const worker = new FakeWorker();
  const rpc = connect(worker, { toError });
  const buffer = new ArrayBuffer(8);
  const first = rpc.call('load', { url: 'm/' });
  const second = rpc.call('segment', { prompts: ['a cat'] }, [buffer]);
  assert.deepEqual(worker.sent.map((m) => m.data), [
    { id: 0, op: 'load', args: { url: 'm/' } },
    { id: 1, op: 'segment', args: { prompts: ['a cat'] } },
  ]);
  assert.deepEqual(worker.sent[1].transfer, [buffer], 'the transfer list goes with the message');
  assert.equal(rpc.pending, 2);
  worker.reply({ id: 1, ok: false, error: { kind: 'prompt', message: 'a text prompt is empty' } });
  worker.reply({ id: 0, ok: true, result: { backend: 'cpu' } });
  assert.deepEqual(await first, { backend: 'cpu' });
  await assert.rejects(second, { kind: 'prompt', message: 'a text prompt is empty' });
  assert.equal(rpc.pending, 0);
  worker.reply({ id: 0, ok: true, result: 'late duplicate' }); // ignored
});

test('messages without an id are events', () => {
  const worker = new FakeWorker();
  const events = [];
  connect(worker, { toError, onEvent: (data) => events.push(data) });
  worker.reply({ event: 'progress', loaded: 5, total: 10 });
  assert.deepEqual(events, [{ event: 'progress', loaded: 5, total: 10 }]);
});

test('a worker error fails every waiting request as "crashed", and says so', async () => {
  const worker = new FakeWorker();
  let crash = null;
  const rpc = connect(worker, { toError, name: 'model worker', onCrash: (error) => { crash = error; } });
  const calls = [rpc.call('a'), rpc.call('b')];
  let prevented = false;
  worker.onerror({ message: 'boom', preventDefault: () => { prevented = true; } });
  for (const call of calls) await assert.rejects(call, { kind: 'crashed', message: 'the model worker failed: boom' });
  assert.equal(crash.kind, 'crashed');
  assert.ok(prevented, 'the error is handled, not reported as uncaught');
  assert.equal(rpc.pending, 0);
});

test('close stops the worker and fails waiting and later requests', async () => {
  const worker = new FakeWorker();
  const rpc = connect(worker, { toError });
  const waiting = rpc.call('segment');
  const disposed = toError({ kind: 'usage', message: 'disposed' });
  rpc.close(disposed);
  assert.ok(worker.terminated);
  await assert.rejects(waiting, disposed);
  await assert.rejects(rpc.call('segment'), disposed);
  assert.equal(worker.sent.length, 1, 'nothing sent after close');
});

class FakeScope {
  posted = [];
  postMessage(data, transfer) {
    this.posted.push({ data, transfer });
  }
}

test('serve answers with results, transfers, and kinds of failures', async () => {
  const scope = new FakeScope();
  const logits = new Float32Array(4);
  serve(scope, {
    add: ({ a, b }) => a + b,
    segment: async () => new Transfer({ logits }, [logits.buffer]),
    fail: () => { throw Object.assign(new Error('no image is set'), { kind: 'usage' }); },
    bug: () => { throw new TypeError('x is undefined'); },
    trap: () => { throw new WebAssembly.RuntimeError('unreachable'); },
  });
  await scope.onmessage({ data: { id: 1, op: 'add', args: { a: 2, b: 3 } } });
  await scope.onmessage({ data: { id: 2, op: 'segment' } });
  await scope.onmessage({ data: { id: 3, op: 'fail' } });
  await scope.onmessage({ data: { id: 4, op: 'bug' } });
  await scope.onmessage({ data: { id: 5, op: 'trap' } });
  await scope.onmessage({ data: { id: 6, op: 'toString' } });
  assert.deepEqual(scope.posted.map((p) => p.data), [
    { id: 1, ok: true, result: 5 },
    { id: 2, ok: true, result: { logits } },
    { id: 3, ok: false, error: { kind: 'usage', message: 'no image is set' } },
    { id: 4, ok: false, error: { kind: 'internal', message: 'x is undefined' } },
    { id: 5, ok: false, error: { kind: 'crashed', message: 'unreachable' } },
    { id: 6, ok: false, error: { kind: 'usage', message: 'unknown request "toString"' } },
  ]);
  assert.deepEqual(scope.posted[1].transfer, [logits.buffer]);
});

test('serve, serial: one request at a time, in order; context marks a lost device', async () => {
  const scope = new FakeScope();
  const log = [];
  let lost = false;
  serve(scope, {
    slow: async () => {
      log.push('slow start');
      await new Promise((done) => setTimeout(done, 20));
      log.push('slow end');
      lost = true;
      return 'slow';
    },
    fast: () => {
      log.push('fast');
      throw Object.assign(new Error('buffer is invalid'), { kind: 'device' });
    },
  }, { serial: true, context: () => ({ deviceLost: lost }) });
  scope.onmessage({ data: { id: 1, op: 'slow' } });
  await scope.onmessage({ data: { id: 2, op: 'fast' } });
  assert.deepEqual(log, ['slow start', 'slow end', 'fast']);
  assert.deepEqual(scope.posted.map((p) => p.data), [
    { id: 1, ok: true, result: 'slow' },
    { id: 2, ok: false, error: { kind: 'device-lost', message: 'buffer is invalid' } },
  ]);
});

test('a client and a server talk through a pair of fake ports', async () => {
  const scope = new FakeScope();
  const worker = new FakeWorker();
  serve(scope, { echo: (args) => args });
  scope.postMessage = (data) => queueMicrotask(() => worker.reply(data));
  worker.postMessage = (data) => scope.onmessage({ data });
  const rpc = connect(worker, { toError });
  assert.deepEqual(await rpc.call('echo', { x: 1 }), { x: 1 });
  await assert.rejects(rpc.call('nope'), { kind: 'usage' });
});
