// Undo and redo of the project's edits (see project.js), across images, kept within limits and
// saved entry by entry. Pure: it holds the edits and a cursor; the caller applies them.
//
// Each entry is { seq, edit }: seq numbers only grow, and are the entries' keys in storage.
// `takeDirty()` says which entries to write and which to delete since the last save, so a save
// costs the new edit, not the whole history.

/** The size of an edit, for the limit: mostly its RLE strings. */
export function editSize(edit) {
  let size = 64;
  for (const change of edit.changes) {
    size += 48;
    for (const side of [change.before, change.after]) {
      if (side && typeof side === 'object') size += (side.counts?.length ?? 0) + (side.exemplar?.counts?.length ?? 0) + 64;
    }
  }
  return size;
}

export class History {
  /** limit: the most entries kept; maxSize: the most characters (≈ bytes) of edits kept. */
  constructor({ limit = 500, maxSize = 32e6 } = {}) {
    this.limit = limit;
    this.maxSize = maxSize;
    this.entries = []; // oldest first
    this.cursor = 0; // entries[0 … cursor) are applied
    this.nextSeq = 1;
    this.size = 0;
    this.dirty = { put: new Set(), remove: new Set(), state: false };
  }

  /** The history as saved: its state ({ nextSeq, cursorSeq }) and its entries. */
  static restore(state, entries, options) {
    const history = new History(options);
    const sorted = [...entries].sort((a, b) => a.seq - b.seq);
    history.entries = sorted;
    history.size = sorted.reduce((sum, e) => sum + editSize(e.edit), 0);
    history.nextSeq = Math.max(state?.nextSeq ?? 1, (sorted.at(-1)?.seq ?? 0) + 1);
    // The cursor is saved as the seq of the first entry not applied (nextSeq when all are).
    const cursorSeq = state?.cursorSeq ?? history.nextSeq;
    history.cursor = sorted.filter((e) => e.seq < cursorSeq).length;
    return history;
  }

  state() {
    return { nextSeq: this.nextSeq, cursorSeq: this.entries[this.cursor]?.seq ?? this.nextSeq };
  }

  get canUndo() { return this.cursor > 0; }
  get canRedo() { return this.cursor < this.entries.length; }
  /** The edit Undo would revert, and the one Redo would apply (or null). */
  get undoEdit() { return this.entries[this.cursor - 1]?.edit ?? null; }
  get redoEdit() { return this.entries[this.cursor]?.edit ?? null; }

  /** Records an applied edit: the redo entries after the cursor go; the oldest go over the limits. */
  push(edit) {
    if (!edit) return;
    for (const dropped of this.entries.splice(this.cursor)) this.#drop(dropped);
    const entry = { seq: this.nextSeq++, edit };
    this.entries.push(entry);
    this.size += editSize(edit);
    this.dirty.put.add(entry.seq);
    this.cursor = this.entries.length;
    while (this.entries.length > 1 && (this.entries.length > this.limit || this.size > this.maxSize)) {
      this.#drop(this.entries.shift());
      this.cursor--;
    }
    this.dirty.state = true;
  }

  #drop(entry) {
    this.size -= editSize(entry.edit);
    if (this.dirty.put.has(entry.seq)) this.dirty.put.delete(entry.seq);
    this.dirty.remove.add(entry.seq);
  }

  /** Moves the cursor back: returns the edit to revert (apply its 'before'), or null. */
  undo() {
    if (!this.canUndo) return null;
    this.cursor--;
    this.dirty.state = true;
    return this.entries[this.cursor].edit;
  }

  /** Moves the cursor on: returns the edit to apply again (its 'after'), or null. */
  redo() {
    if (!this.canRedo) return null;
    this.dirty.state = true;
    return this.entries[this.cursor++].edit;
  }

  /** What to save since the last call: { put: [{ seq, edit }], remove: [seq], state }. */
  takeDirty() {
    const bySeq = new Map(this.entries.map((e) => [e.seq, e]));
    const out = {
      put: [...this.dirty.put].map((seq) => bySeq.get(seq)).filter(Boolean),
      remove: [...this.dirty.remove],
      state: this.dirty.state || this.dirty.put.size > 0 || this.dirty.remove.size > 0 ? this.state() : null,
    };
    this.dirty = { put: new Set(), remove: new Set(), state: false };
    return out;
  }

  /** Puts back what a failed save did not write. */
  markDirty({ put, remove, state }) {
    for (const entry of put) this.dirty.put.add(entry.seq);
    for (const seq of remove) this.dirty.remove.add(seq);
    if (state) this.dirty.state = true;
  }
}
