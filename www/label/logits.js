// A class's prompts to the model: the one prompt it asks for (its phrasings averaged by the
// model, as `clipseg label NAME=P1;P2` does) and the key its logits are cached under. Pure: no
// DOM.

/** The class as one prompt of `seg.segment`: its text, or its phrasings to average. */
export const classPrompt = (cls) => (cls.prompts.length === 1 ? cls.prompts[0] : [...cls.prompts]);

/** A class's prompts as one key: its prompts and its example's mask, if any. */
export function promptKey(cls) {
  const like = cls.exemplar ? `|like:${cls.exemplar.imageId}:${cls.exemplar.counts}` : '';
  return `${cls.prompts.join('\n')}${like}`;
}
