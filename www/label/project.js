// The labelling project: classes, images (with their per-image status and instances) and the
// settings that go with them. Pure and serialisable: no DOM, no storage, no model.
//
// Every change a person can undo is an edit: { label, imageId, changes: [...] }, each change
// holding the record before and after (instance and class records are never changed in place,
// only replaced, so an edit kept in the history stays true). `apply(edit, 'after')` does it,
// `apply(edit, 'before')` undoes it. What is not undoable (a class's name, prompts, colour and
// threshold, an image's size once known, the current image) is set directly. Each change marks
// what must be saved: the project's meta record and the records of the images it touched.
//
// Records:
//   class    { id, name, prompts: [text], color: '#rrggbb', threshold, exemplar }
//            exemplar: null or { imageId, instanceId, counts, width, height } — an instance's mask
//            used as the class's visual prompt ("more like this").
//   image    { id, name, type, bytes, width, height, status: 'new'|'progress'|'done', error, instances }
//   instance { id, classId, counts (COCO compressed RLE of the whole image), bbox: [x, y, w, h], area, hidden }

export const VERSION = 1;
export const STATUSES = Object.freeze(['new', 'progress', 'done']);

/** Distinct colours for new classes, in order. */
export const PALETTE = Object.freeze([
  '#f43f5e', '#22c55e', '#3b82f6', '#f59e0b', '#a855f7', '#06b6d4', '#ec4899', '#84cc16', '#f97316',
  '#14b8a6', '#6366f1', '#eab308',
]);

export const DEFAULT_SETTINGS = Object.freeze({ minArea: 64, boxMix: 0.5, likeMix: 0.5 });

/** "a cat; the kitten ;" → ['a cat', 'the kitten']; empty → [fallback]. */
export function parsePrompts(text, fallback) {
  const prompts = String(text ?? '').split(';').map((p) => p.trim()).filter(Boolean);
  return prompts.length ? prompts : [String(fallback ?? '').trim()].filter(Boolean);
}

const freeze = (record) => (record ? Object.freeze(record) : null);

export class Project {
  /** A new, empty project. */
  static create({ name = 'Untitled project', now = Date.now() } = {}) {
    return new Project({
      version: VERSION, name, createdAt: now, classes: [], order: [], nextId: { class: 1, image: 1, instance: 1 },
      settings: { ...DEFAULT_SETTINGS }, currentImageId: null, activeClassId: null,
    }, []);
  }

  /** The project from its saved meta record and image records (see `meta()` and `imageRecord()`). */
  static restore(meta, images) {
    if (!meta || meta.version !== VERSION) throw new Error(`a saved project of version ${meta?.version} cannot be read`);
    return new Project(meta, images);
  }

  constructor(meta, images) {
    this.name = meta.name;
    this.createdAt = meta.createdAt;
    this.classes = meta.classes.map((c) => freeze({ exemplar: null, ...c }));
    this.nextId = { ...meta.nextId };
    this.settings = { ...DEFAULT_SETTINGS, ...meta.settings };
    const byId = new Map(images.map((image) => [image.id, image]));
    this.images = meta.order.map((id) => byId.get(id)).filter(Boolean)
      .map((image) => ({ ...image, instances: image.instances.map(freeze) }));
    this.currentImageId = meta.currentImageId ?? this.images[0]?.id ?? null;
    this.activeClassId = meta.activeClassId ?? null;
    this.dirty = { meta: false, images: new Set() };
  }

  // ---- Reading ----
  classById(id) { return this.classes.find((c) => c.id === id) ?? null; }
  imageById(id) { return this.images.find((i) => i.id === id) ?? null; }
  get currentImage() { return this.imageById(this.currentImageId); }
  get activeClass() { return this.classById(this.activeClassId); }
  instanceOf(imageId, id) { return this.imageById(imageId)?.instances.find((i) => i.id === id) ?? null; }
  /** How many images have each status. */
  counts() {
    const counts = { new: 0, progress: 0, done: 0, total: this.images.length, instances: 0 };
    for (const image of this.images) {
      counts[image.status]++;
      counts.instances += image.instances.length;
    }
    return counts;
  }

  // ---- Saving ----
  /** The saved form of everything but the images' own records. */
  meta() {
    return {
      version: VERSION, name: this.name, createdAt: this.createdAt, classes: this.classes, order: this.images.map((i) => i.id),
      nextId: this.nextId, settings: this.settings, currentImageId: this.currentImageId, activeClassId: this.activeClassId,
    };
  }

  imageRecord(id) { return this.imageById(id); }

  /** What changed since the last call: { meta: bool, images: [ids] }. */
  takeDirty() {
    const dirty = { meta: this.dirty.meta, images: [...this.dirty.images] };
    this.dirty = { meta: false, images: new Set() };
    return dirty;
  }

  /** Marks what a failed save did not write as still to save. */
  markDirty({ meta, images }) {
    if (meta) this.dirty.meta = true;
    for (const id of images) this.dirty.images.add(id);
  }

  #touchMeta() { this.dirty.meta = true; }
  #touchImage(id) { this.dirty.images.add(id); }

  // ---- Direct settings (not undoable) ----
  setCurrentImage(id) {
    if (id === this.currentImageId || !this.imageById(id)) return false;
    this.currentImageId = id;
    this.#touchMeta();
    return true;
  }

  setActiveClass(id) {
    if (id !== null && !this.classById(id)) return false;
    if (id === this.activeClassId) return false;
    this.activeClassId = id;
    this.#touchMeta();
    return true;
  }

  setSetting(key, value) {
    if (!(key in DEFAULT_SETTINGS)) throw new Error(`no setting "${key}"`);
    this.settings = { ...this.settings, [key]: value };
    this.#touchMeta();
  }

  /** name, prompts (array or ';' text), color, threshold: a class's own fields. */
  updateClass(id, fields) {
    const old = this.classById(id);
    if (!old) return null;
    const next = { ...old, ...fields };
    if ('name' in fields) next.name = String(fields.name).trim() || old.name;
    if ('prompts' in fields) {
      next.prompts = Array.isArray(fields.prompts) ? fields.prompts.map((p) => p.trim()).filter(Boolean) : parsePrompts(fields.prompts, next.name);
      if (!next.prompts.length) next.prompts = [next.name];
    } else if ('name' in fields && old.prompts.length === 1 && old.prompts[0] === old.name) {
      next.prompts = [next.name]; // the default prompt follows the name
    }
    if ('threshold' in fields) next.threshold = Math.min(1, Math.max(0, Number(fields.threshold)));
    this.classes = this.classes.map((c) => (c.id === id ? freeze(next) : c));
    this.#touchMeta();
    return this.classById(id);
  }

  /**
   * Adds image records for files: [{ name, type, bytes }] → the new images (their ids key the
   * stored files). Not undoable: the files are kept until "New project".
   */
  addImages(files) {
    const added = files.map((file) => ({
      id: this.nextId.image++, name: file.name, type: file.type ?? '', bytes: file.bytes ?? 0,
      width: file.width ?? null, height: file.height ?? null, status: 'new', error: null, instances: [],
    }));
    this.images.push(...added);
    for (const image of added) this.#touchImage(image.id);
    if (this.currentImageId === null && added.length) this.currentImageId = added[0].id;
    this.#touchMeta();
    return added;
  }

  /** The image's size once decoded (original pixels), or why it cannot be read. */
  setImageInfo(id, { width, height, error }) {
    const image = this.imageById(id);
    if (!image) return;
    if (width !== undefined) Object.assign(image, { width, height });
    if (error !== undefined) image.error = error;
    this.#touchImage(id);
  }

  // ---- Undoable edits: each builds an edit, applies it and returns it (null: nothing to do) ----

  /** A new class; its colour from the palette, its prompt its name. */
  addClass({ name, prompts, color, threshold = 0.5 }) {
    const id = this.nextId.class++;
    const clean = String(name ?? '').trim() || `class ${id}`;
    const record = {
      id, name: clean, prompts: parsePrompts(Array.isArray(prompts) ? prompts.join(';') : prompts, clean),
      color: color ?? PALETTE[(id - 1) % PALETTE.length], threshold, exemplar: null,
    };
    this.#touchMeta();
    return this.#do({ label: `add class “${clean}”`, imageId: null, changes: [{ kind: 'class', id, index: this.classes.length, before: null, after: record }] });
  }

  /** Deletes a class and every instance of it, on every image. */
  deleteClass(id) {
    const index = this.classes.findIndex((c) => c.id === id);
    if (index < 0) return null;
    const changes = [];
    for (const image of this.images) {
      image.instances.forEach((instance, at) => {
        if (instance.classId === id) changes.push({ kind: 'instance', imageId: image.id, id: instance.id, index: at, before: instance, after: null });
      });
    }
    changes.reverse(); // later indices first, so each index stays right when undone in reverse
    changes.push({ kind: 'class', id, index, before: this.classes[index], after: null });
    const imageId = changes.find((c) => c.imageId === this.currentImageId)?.imageId ?? null;
    return this.#do({ label: `delete class “${this.classes[index].name}”`, imageId, changes });
  }

  /** Moves a class `by` places (−1 up, +1 down). */
  moveClass(id, by) {
    const before = this.classes.map((c) => c.id);
    const from = before.indexOf(id);
    const to = from + by;
    if (from < 0 || to < 0 || to >= before.length) return null;
    const after = [...before];
    after.splice(to, 0, ...after.splice(from, 1));
    return this.#do({ label: 'reorder classes', imageId: null, changes: [{ kind: 'classOrder', before, after }] });
  }

  /** Sets (or, with null, clears) a class's "more like this" example. */
  setExemplar(classId, exemplar) {
    const old = this.classById(classId);
    if (!old) return null;
    const after = { ...old, exemplar: exemplar ? { ...exemplar } : null };
    const index = this.classes.indexOf(old);
    return this.#do({ label: exemplar ? `find more like #${exemplar.instanceId}` : 'stop finding more like an example', imageId: exemplar?.imageId ?? null,
      changes: [{ kind: 'class', id: classId, index, before: old, after }] });
  }

  /**
   * Adds instances to an image: [{ classId, counts, bbox, area }]. A new image becomes
   * "in progress". Returns the edit; its changes' `after` are the new records.
   */
  addInstances(imageId, instances, label) {
    const image = this.imageById(imageId);
    if (!image || !instances.length) return null;
    const changes = instances.map((fields, k) => ({
      kind: 'instance', imageId, id: this.nextId.instance++, index: image.instances.length + k, before: null,
      after: { classId: fields.classId, counts: fields.counts, bbox: fields.bbox, area: fields.area, hidden: false },
    }));
    for (const change of changes) change.after = { id: change.id, ...change.after };
    if (image.status === 'new') changes.push({ kind: 'status', imageId, before: 'new', after: 'progress' });
    const what = instances.length === 1 ? `add #${changes[0].id}` : `add ${instances.length} instances`;
    return this.#do({ label: label ?? what, imageId, changes });
  }

  /** Replaces fields of one instance (mask: counts, bbox, area; classId; hidden). */
  updateInstance(imageId, id, fields, label) {
    const image = this.imageById(imageId);
    const index = image?.instances.findIndex((i) => i.id === id) ?? -1;
    if (index < 0) return null;
    const before = image.instances[index];
    const after = { ...before, ...fields };
    if (Object.keys(fields).every((key) => before[key] === after[key])) return null;
    return this.#do({ label: label ?? `edit #${id}`, imageId, changes: [{ kind: 'instance', imageId, id, index, before, after }] });
  }

  deleteInstances(imageId, ids, label) {
    const image = this.imageById(imageId);
    if (!image) return null;
    const changes = [];
    image.instances.forEach((instance, index) => {
      if (ids.includes(instance.id)) changes.push({ kind: 'instance', imageId, id: instance.id, index, before: instance, after: null });
    });
    if (!changes.length) return null;
    changes.reverse();
    return this.#do({ label: label ?? (changes.length === 1 ? `delete #${changes[0].id}` : `delete ${changes.length} instances`), imageId, changes });
  }

  setStatus(imageId, status) {
    const image = this.imageById(imageId);
    if (!image || !STATUSES.includes(status) || image.status === status) return null;
    return this.#do({ label: `mark “${image.name}” ${status === 'done' ? 'done' : status === 'new' ? 'new' : 'in progress'}`, imageId,
      changes: [{ kind: 'status', imageId, before: image.status, after: status }] });
  }

  /** Several edits as one (e.g. an import): their changes in order. */
  combine(label, imageId, edits) {
    const changes = edits.filter(Boolean).flatMap((e) => e.changes);
    return changes.length ? { label, imageId, changes } : null;
  }

  #do(edit) {
    this.apply(edit, 'after');
    return edit;
  }

  /** Applies an edit ('after') or undoes it ('before'); returns the ids of the images touched. */
  apply(edit, side) {
    const changes = side === 'after' ? edit.changes : [...edit.changes].reverse();
    const touched = new Set();
    for (const change of changes) {
      const value = change[side];
      switch (change.kind) {
        case 'instance': {
          const image = this.imageById(change.imageId);
          if (!image) break;
          const at = image.instances.findIndex((i) => i.id === change.id);
          if (at >= 0) image.instances.splice(at, 1);
          if (value) image.instances.splice(Math.min(at >= 0 ? at : change.index, image.instances.length), 0, freeze(value));
          touched.add(image.id);
          this.#touchImage(image.id);
          break;
        }
        case 'status': {
          const image = this.imageById(change.imageId);
          if (!image) break;
          image.status = value;
          touched.add(image.id);
          this.#touchImage(image.id);
          break;
        }
        case 'class': {
          const at = this.classes.findIndex((c) => c.id === change.id);
          const next = [...this.classes];
          if (at >= 0) next.splice(at, 1);
          if (value) next.splice(Math.min(at >= 0 ? at : change.index, next.length), 0, freeze(value));
          this.classes = next;
          if (!value && this.activeClassId === change.id) this.activeClassId = next[0]?.id ?? null;
          if (value && this.activeClassId === null) this.activeClassId = value.id;
          this.#touchMeta();
          break;
        }
        case 'classOrder': {
          const byId = new Map(this.classes.map((c) => [c.id, c]));
          this.classes = value.map((id) => byId.get(id)).filter(Boolean);
          this.#touchMeta();
          break;
        }
        default:
          throw new Error(`unknown change "${change.kind}"`);
      }
    }
    return [...touched];
  }
}
