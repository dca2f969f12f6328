// Class lists from files: a text file (one class a line; "name: prompt; prompt" gives its
// prompts; blank lines and lines starting with # are skipped) or a COCO file's categories.
// Pure: no DOM.

/** Text → [{ name, prompts? }], in order, without repeats. */
export function classesFromText(text) {
  const seen = new Set();
  const out = [];
  for (const raw of String(text).replace(/^\uFEFF/, '').split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    const name = (colon > 0 ? line.slice(0, colon) : line).trim();
    const prompts = colon > 0 ? line.slice(colon + 1).split(';').map((p) => p.trim()).filter(Boolean) : [];
    if (!name || seen.has(name.toLowerCase())) continue;
    seen.add(name.toLowerCase());
    out.push(prompts.length ? { name, prompts } : { name });
  }
  return out;
}

/** A COCO object's categories → [{ name }], by id. Throws an Error that says what is wrong. */
export function classesFromCoco(coco) {
  if (!coco || typeof coco !== 'object' || !Array.isArray(coco.categories)) {
    throw new Error('this JSON file has no COCO "categories" list');
  }
  const categories = [...coco.categories].sort((a, b) => (a?.id ?? 0) - (b?.id ?? 0));
  const seen = new Set();
  const out = [];
  for (const category of categories) {
    const name = typeof category?.name === 'string' ? category.name.trim() : '';
    if (!name) throw new Error(`a COCO category (id ${category?.id}) has no name`);
    if (seen.has(name.toLowerCase())) continue;
    seen.add(name.toLowerCase());
    out.push({ name });
  }
  return out;
}

/** A file's text, by its name: .json is COCO, anything else a text list. */
export function classesFromFile(name, text) {
  if (/\.json$/i.test(name) || /^\s*\{/.test(text)) {
    let coco;
    try {
      coco = JSON.parse(text);
    } catch (error) {
      throw new Error(`“${name}” is not valid JSON (${error.message})`);
    }
    return classesFromCoco(coco);
  }
  const classes = classesFromText(text);
  if (!classes.length) throw new Error(`“${name}” lists no class names (one name a line)`);
  return classes;
}
