// The open project and its history: the one place edits go through. Commits an edit (and
// records it for undo), undoes and redoes across images (an undo on another image makes that
// image current first), keeps the selected instance, and tells listeners what changed. Holds
// the current image's instance masks decoded (crops), and only those. No DOM.
import { History } from './history.js';
import { Project } from './project.js';
import { decodeMask } from './rle.js';

export class Editor {
  constructor(project = Project.create(), history = new History()) {
    this.project = project;
    this.history = history;
    this.selected = null; // the selected instance's id (on the current image)
    this.listeners = new Set();
    this.crops = new Map(); // instance id → { counts, mask }, current image only
  }

  /** listener({ edit, images, classes, selection, current, history }) after each change. */
  on(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(what) {
    for (const listener of this.listeners) listener(what);
  }

  /** Replaces the whole project (restore, new project, import). */
  replace(project, history = new History()) {
    this.project = project;
    this.history = history;
    this.selected = null;
    this.crops.clear();
    this.emit({ images: true, classes: true, current: true, selection: true, history: true, replaced: true });
  }

  /** Records an edit that `project` already applied (its edit methods do). */
  commit(edit, { select } = {}) {
    if (!edit) return null;
    this.history.push(edit);
    if (select !== undefined) this.selected = select;
    this.#afterApply(edit);
    return edit;
  }

  undo() { return this.#step('undo'); }
  redo() { return this.#step('redo'); }

  #step(direction) {
    const edit = direction === 'undo' ? this.history.undo() : this.history.redo();
    if (!edit) return null;
    // The edit's image becomes current first, so the person sees what is undone.
    if (edit.imageId !== null && edit.imageId !== this.project.currentImageId) this.setCurrentImage(edit.imageId);
    this.project.apply(edit, direction === 'undo' ? 'before' : 'after');
    const mine = edit.changes.filter((c) => c.kind === 'instance' && c.imageId === this.project.currentImageId);
    const shown = mine.find((c) => (direction === 'undo' ? c.before : c.after));
    this.selected = shown ? shown.id : this.#valid(this.selected);
    this.#afterApply(edit);
    return edit;
  }

  #valid(id) {
    return id !== null && this.project.instanceOf(this.project.currentImageId, id) ? id : null;
  }

  #afterApply(edit) {
    const kinds = new Set(edit.changes.map((c) => c.kind));
    this.selected = this.#valid(this.selected);
    this.emit({
      edit,
      images: kinds.has('instance') || kinds.has('status'),
      classes: kinds.has('class') || kinds.has('classOrder'),
      selection: true,
      history: true,
    });
  }

  setCurrentImage(id) {
    if (!this.project.setCurrentImage(id)) return false;
    this.selected = null;
    this.crops.clear();
    this.emit({ current: true, selection: true, images: true });
    return true;
  }

  select(id) {
    const next = this.#valid(id);
    if (next === this.selected) return;
    this.selected = next;
    this.emit({ selection: true });
  }

  setActiveClass(id) {
    if (this.project.setActiveClass(id)) this.emit({ classes: true, active: true });
  }

  /** A change that is not an edit (a class's name, a setting): listeners hear `what`. */
  changed(what) {
    this.emit(what);
  }

  /** The current image's instances, with their masks decoded: [{ instance, mask }]. */
  currentInstances() {
    const image = this.project.currentImage;
    if (!image?.width) return [];
    const live = new Set();
    const out = image.instances.map((instance) => {
      live.add(instance.id);
      let cached = this.crops.get(instance.id);
      if (!cached || cached.counts !== instance.counts) {
        cached = { counts: instance.counts, mask: decodeMask(instance.counts, image.width, image.height) };
        this.crops.set(instance.id, cached);
      }
      return { instance, mask: cached.mask };
    });
    for (const id of this.crops.keys()) if (!live.has(id)) this.crops.delete(id);
    return out;
  }

  /** The selected instance with its mask, or null. */
  selection() {
    if (this.selected === null) return null;
    return this.currentInstances().find((entry) => entry.instance.id === this.selected) ?? null;
  }
}
