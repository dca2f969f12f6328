// What the page asks the model next, and which results it keeps: pure logic over plain values
// (no DOM, no worker), so unit tests can drive it. The page (page/jobs.js) owns the state and
// feeds it in.
//
// Results are keyed by what produced them: `text T` for a text prompt alone, `text T\0mix M V`
// for a text prompt mixed with the visual prompt V at weight M, `box V` for the visual prompt as
// its own layer. V names the box on the image, or the example image and its box.

/** Logit maps kept per image and model, most recently stored last. */
export const RESULT_CACHE_LIMIT = 48;

/**
 * The visual prompt in force: the example image (with its box, or whole) when there is one,
 * else the box on the image, else null. Returns { key, visual (for Segmenter.segment), box }.
 */
export function visualPrompt({ box = null, example = null } = {}) {
  if (example) {
    const exampleBox = example.box ?? null;
    return {
      key: `example ${example.id} ${exampleBox ? exampleBox.join(',') : 'whole'}`,
      visual: exampleBox ? { image: example.file, box: exampleBox } : { image: example.file },
      box: exampleBox,
    };
  }
  if (box) return { key: `image ${box.join(',')}`, visual: { box }, box };
  return null;
}

/** The result key of a text prompt: mixed with the visual prompt when `mix` > 0 and there is one. */
export function textKey(text, mix, vp) {
  return mix > 0 && vp ? `text ${text}\u0000mix ${mix} ${vp.key}` : `text ${text}`;
}

/** The result key of the visual prompt as its own layer. */
export const boxKey = (vp) => `box ${vp.key}`;

/** The distinct, non-empty queries of a prompt list, in order. */
export function queriesOf(prompts) {
  return [...new Set(prompts.map((p) => p.query).filter(Boolean))];
}

/** The keys the current prompts, visual prompt and mix show. */
export function neededKeys(queries, vp, mix) {
  const keys = new Set(queries.map((q) => textKey(q, mix, vp)));
  if (vp) keys.add(boxKey(vp));
  return keys;
}

/**
 * Logit maps by key, at most `limit` of them: storing one more evicts the least recently stored
 * keys that the current view does not need (a needed one is never evicted, even over the limit).
 */
export class ResultCache {
  #map = new Map();

  constructor(limit = RESULT_CACHE_LIMIT) {
    this.limit = limit;
  }

  get size() {
    return this.#map.size;
  }

  has(key) {
    return this.#map.has(key);
  }

  get(key) {
    return this.#map.get(key);
  }

  keys() {
    return [...this.#map.keys()];
  }

  clear() {
    this.#map.clear();
  }

  /** Stores `value` under `key`; `needed` (a Set of keys) is spared by eviction. */
  set(key, value, needed = new Set()) {
    this.#map.delete(key);
    this.#map.set(key, value);
    for (const old of this.#map.keys()) {
      if (this.#map.size <= this.limit) break;
      if (old !== key && !needed.has(old)) this.#map.delete(old);
    }
  }
}

/**
 * The next model call, or null when everything shown is up to date:
 * - { kind: 'encode', image } when the image is not encoded by `model` yet;
 * - { kind: 'segment', image, keys, request } for the missing text results (mixed with the visual
 *   prompt when mix > 0) and the missing visual-prompt layer; `keys[i]` names output i.
 * `model` is null while none can run (none loaded, loading, or halted after a failure);
 * `encodedBy` is the model the image was encoded by; `failed`: the image could not be encoded.
 */
export function nextJob({ model, image, encodedBy, failed = false, queries, vp, mix, results }) {
  if (!model || !image || failed) return null;
  if (encodedBy !== model) return { kind: 'encode', image };
  const texts = queries.filter((q) => !results.has(textKey(q, mix, vp)));
  const keys = texts.map((q) => textKey(q, mix, vp));
  if (texts.length && mix > 0 && vp) {
    return { kind: 'segment', image, keys, request: { prompts: texts, visual: vp.visual, mix } };
  }
  const needBox = Boolean(vp) && !results.has(boxKey(vp));
  if (!texts.length && !needBox) return null;
  const request = { prompts: texts };
  if (needBox) {
    request.visual = vp.visual;
    keys.push(boxKey(vp));
  }
  return { kind: 'segment', image, keys, request };
}

/**
 * The results of the current prompts as the API returned them (read by tests and tools):
 * { prompts: queries with a result, logits: { query: Float32Array }, box: { logits, box } | null, mix }.
 * `results` holds { logits, size } entries.
 */
export function currentResults({ queries, vp, mix, results }) {
  const prompts = queries.filter((q) => results.has(textKey(q, mix, vp)));
  const boxEntry = vp && results.get(boxKey(vp));
  return {
    prompts,
    logits: Object.fromEntries(prompts.map((q) => [q, results.get(textKey(q, mix, vp)).logits])),
    box: boxEntry ? { logits: boxEntry.logits, box: vp.box ? [...vp.box] : null } : null,
    mix: mix > 0 && vp ? mix : 0,
  };
}
