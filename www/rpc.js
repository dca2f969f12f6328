// Requests to a worker over postMessage, both ends. The page's side (`connect`) numbers each
// request, keeps its promise until the answer with that id arrives, and fails every waiting
// request when the worker dies. The worker's side (`serve`) runs the handlers and posts
// `{ id, ok: true, result }` or `{ id, ok: false, error: { kind, message } }`. Messages without
// an id (progress, events) go to `onEvent`. No DOM: unit tests drive it with a fake worker.
import { describeError } from './errors.js';

/** A handler's answer that moves (transfers) buffers instead of copying them. */
export class Transfer {
  constructor(result, list) {
    this.result = result;
    this.list = list;
  }
}

/**
 * The calling side. `toError({ kind, message })` makes the rejection; `onEvent(data)` gets the
 * messages that answer no request; `onCrash(error)` hears that the worker died.
 */
export function connect(worker, { toError, onEvent, onCrash, name = 'worker' }) {
  const pending = new Map();
  let nextId = 0;
  let closed = null;

  const failAll = (error) => {
    for (const call of pending.values()) call.reject(error);
    pending.clear();
  };

  worker.onmessage = ({ data }) => {
    const call = data?.id === undefined ? undefined : pending.get(data.id);
    if (!call) {
      if (data?.id === undefined) onEvent?.(data);
      return;
    }
    pending.delete(data.id);
    if (data.ok) call.resolve(data.result);
    else call.reject(toError(data.error));
  };
  worker.onerror = (event) => {
    event.preventDefault?.();
    const error = toError({ kind: 'crashed', message: `the ${name} failed: ${event.message || 'could not start'}` });
    failAll(error);
    onCrash?.(error);
  };

  return {
    /** Sends `op(args)`, moving the buffers in `transfer`; resolves to the handler's result. */
    call(op, args, transfer = []) {
      if (closed) return Promise.reject(closed);
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        worker.postMessage({ id, op, args }, transfer);
      });
    },
    /** How many requests wait for an answer. */
    get pending() {
      return pending.size;
    },
    /** Stops the worker; waiting and later requests fail with `error`. */
    close(error) {
      closed = error;
      worker.terminate();
      failAll(error);
    },
  };
}

/**
 * The worker's side: answers `{ id, op, args }` with `handlers[op](args)` (a value, or a
 * Transfer). `serial`: one request at a time, in order of arrival. `context()` adds what
 * describeError needs to know (e.g. `{ deviceLost }`).
 */
export function serve(scope, handlers, { serial = false, context = () => ({}) } = {}) {
  let queue = Promise.resolve();
  const answer = async ({ id, op, args }) => {
    try {
      if (!Object.hasOwn(handlers, op)) throw Object.assign(new Error(`unknown request "${op}"`), { kind: 'usage' });
      const value = await handlers[op](args);
      if (value instanceof Transfer) scope.postMessage({ id, ok: true, result: value.result }, value.list);
      else scope.postMessage({ id, ok: true, result: value });
    } catch (error) {
      scope.postMessage({ id, ok: false, error: describeError(error, context()) });
    }
  };
  scope.onmessage = ({ data }) => {
    queue = serial ? queue.then(() => answer(data)) : answer(data);
    return queue;
  };
}
