// A class's prompts to the model and back: the key its logits are cached under, and several
// prompts' maps as one (their probabilities averaged). Pure: no DOM.

/** A class's prompts as one key: its prompts and its example's mask, if any. */
export function promptKey(cls) {
  const like = cls.exemplar ? `|like:${cls.exemplar.imageId}:${cls.exemplar.counts}` : '';
  return `${cls.prompts.join('\n')}${like}`;
}

/**
 * The mean of `count` maps' probabilities (`logits`: count × size × size, before sigmoid), as
 * one map of logits; one map is returned as it is (a copy).
 */
export function meanLogits(logits, count, size) {
  const plane = size * size;
  if (count === 1) return logits.slice(0, plane);
  const out = new Float32Array(plane);
  for (let i = 0; i < plane; i++) {
    let p = 0;
    for (let k = 0; k < count; k++) p += 1 / (1 + Math.exp(-logits[k * plane + i]));
    p = Math.min(1 - 1e-7, Math.max(1e-7, p / count));
    out[i] = Math.log(p / (1 - p));
  }
  return out;
}
