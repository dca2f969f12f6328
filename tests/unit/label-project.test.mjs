// The labelling page's project, history and editor (www/label/project.js, history.js,
// editor.js): edits and their undo across images, the history's limits, saving only what
// changed, and a round trip through the saved form that keeps the undo history.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Editor } from '../../www/label/editor.js';
import { History, editSize } from '../../www/label/history.js';
import { PALETTE, Project, parsePrompts } from '../../www/label/project.js';
import { encodeMask } from '../../www/label/rle.js';
import './rle-codec.mjs';
import { stroke, emptyMask, areaOf, bboxOf } from '../../www/label/mask.js';

const W = 40;
const H = 30;
// An instance's fields from a disc.
function disc(classId, x, y, r) {
  const mask = stroke(emptyMask(), [x, y], [x, y], r, 1, W, H);
  return { classId, counts: encodeMask(mask, W, H), bbox: bboxOf(mask), area: areaOf(mask) };
}

function setUp() {
  const project = Project.create({ now: 0 });
  const editor = new Editor(project);
  editor.commit(project.addClass({ name: 'cat' }));
  editor.commit(project.addClass({ name: 'dog', prompts: 'a dog; a puppy ;' }));
  project.addImages([{ name: 'a.png' }, { name: 'b.png' }, { name: 'c.png' }]);
  for (const image of project.images) project.setImageInfo(image.id, { width: W, height: H });
  return { project, editor };
}

// The saved form, as IndexedDB would hold it (structured clone ≈ JSON here).
function saved(editor) {
  const { project, history } = editor;
  return JSON.parse(JSON.stringify({
    meta: project.meta(),
    images: project.images.map((i) => project.imageRecord(i.id)),
    history: { state: history.state(), entries: history.entries },
  }));
}

function restored(data) {
  return new Editor(Project.restore(data.meta, data.images), History.restore(data.history.state, data.history.entries));
}

test('classes: names, default prompts, ; separated prompts, palette colours, the first is active', () => {
  const { project } = setUp();
  assert.deepEqual(project.classes.map((c) => [c.name, c.prompts, c.color]), [
    ['cat', ['cat'], PALETTE[0]], ['dog', ['a dog', 'a puppy'], PALETTE[1]],
  ]);
  assert.equal(project.activeClassId, project.classes[0].id);
  assert.deepEqual(parsePrompts(' ; ', 'x'), ['x']);
  // Renaming moves a default prompt along, not chosen ones.
  project.updateClass(1, { name: 'kitten' });
  assert.deepEqual(project.classById(1).prompts, ['kitten']);
  project.updateClass(2, { name: 'hound' });
  assert.deepEqual(project.classById(2).prompts, ['a dog', 'a puppy']);
  project.updateClass(2, { prompts: '' });
  assert.deepEqual(project.classById(2).prompts, ['hound']);
});

test('adding an instance marks a new image in progress; undo takes both back', () => {
  const { project, editor } = setUp();
  const image = project.images[0];
  const edit = editor.commit(project.addInstances(image.id, [disc(1, 10, 10, 4)]), { select: 'new' });
  assert.equal(image.instances.length, 1);
  assert.equal(image.status, 'progress');
  editor.select(edit.changes[0].id);
  assert.equal(editor.selected, edit.changes[0].id);
  editor.undo();
  assert.equal(image.instances.length, 0);
  assert.equal(image.status, 'new');
  assert.equal(editor.selected, null);
  editor.redo();
  assert.equal(image.instances.length, 1);
  assert.equal(editor.selected, image.instances[0].id, 'redo selects what it brings back');
});

test('undo and redo across images switch to the edited image', () => {
  const { project, editor } = setUp();
  const [a, b] = project.images;
  editor.commit(project.addInstances(a.id, [disc(1, 10, 10, 4)]));
  editor.setCurrentImage(b.id);
  editor.commit(project.addInstances(b.id, [disc(2, 20, 20, 5), disc(2, 5, 5, 2)]));
  const id = b.instances[0].id;
  editor.commit(project.updateInstance(b.id, id, disc(1, 20, 20, 6), 'brush'));
  editor.commit(project.deleteInstances(b.id, [b.instances[1].id]));
  assert.deepEqual(b.instances.map((i) => i.classId), [1]);
  editor.undo(); // the delete
  editor.undo(); // the brush
  assert.deepEqual(b.instances.map((i) => [i.classId, i.area]), [[2, disc(2, 20, 20, 5).area], [2, disc(2, 5, 5, 2).area]]);
  editor.undo(); // the two instances on b
  assert.equal(b.instances.length, 0);
  assert.equal(project.currentImageId, b.id);
  editor.undo(); // the instance on a: a becomes current
  assert.equal(project.currentImageId, a.id);
  assert.equal(a.instances.length, 0);
  assert.match(editor.history.undoEdit.label, /add class “dog”/, 'the class edits are below');
  editor.redo();
  editor.redo();
  assert.equal(project.currentImageId, b.id, 'redo switches back');
  assert.equal(b.instances.length, 2);
  // A new edit drops the redo tail.
  editor.commit(project.setStatus(b.id, 'done'));
  assert.equal(editor.history.canRedo, false);
});

test('deleting a class removes its instances everywhere; undo restores them in place', () => {
  const { project, editor } = setUp();
  const [a, b] = project.images;
  editor.commit(project.addInstances(a.id, [disc(1, 5, 5, 2), disc(2, 15, 5, 2), disc(1, 25, 5, 2)]));
  editor.commit(project.addInstances(b.id, [disc(1, 5, 5, 2)]));
  const order = a.instances.map((i) => i.id);
  editor.commit(project.setExemplar(2, { imageId: a.id, instanceId: order[1], counts: a.instances[1].counts, width: W, height: H }));
  editor.commit(project.deleteClass(1));
  assert.deepEqual(project.classes.map((c) => c.name), ['dog']);
  assert.deepEqual(a.instances.map((i) => i.classId), [2]);
  assert.equal(b.instances.length, 0);
  assert.equal(project.activeClassId, 2, 'the active class moves on');
  editor.undo();
  assert.deepEqual(project.classes.map((c) => c.name), ['cat', 'dog']);
  assert.deepEqual(a.instances.map((i) => i.id), order);
  assert.equal(b.instances.length, 1);
  assert.equal(project.classById(2).exemplar.instanceId, order[1]);
  editor.commit(project.moveClass(2, -1));
  assert.deepEqual(project.classes.map((c) => c.name), ['dog', 'cat']);
  editor.undo();
  assert.deepEqual(project.classes.map((c) => c.name), ['cat', 'dog']);
  assert.equal(project.moveClass(1, -1), null, 'the first cannot go up');
});

test('edits that change nothing are not recorded', () => {
  const { project, editor } = setUp();
  const image = project.images[0];
  editor.commit(project.addInstances(image.id, [disc(1, 10, 10, 4)]));
  const before = editor.history.entries.length;
  editor.commit(project.updateInstance(image.id, image.instances[0].id, { classId: 1 }));
  editor.commit(project.setStatus(image.id, 'progress'));
  editor.commit(project.deleteInstances(image.id, [999]));
  assert.equal(editor.history.entries.length, before);
});

test('the history keeps at most its limit of entries and of size, oldest dropped', () => {
  const history = new History({ limit: 3 });
  const edit = (n) => ({ label: `e${n}`, imageId: 1, changes: [{ kind: 'status', imageId: 1, before: 'new', after: 'done' }] });
  for (let n = 1; n <= 5; n++) history.push(edit(n));
  assert.deepEqual(history.entries.map((e) => e.edit.label), ['e3', 'e4', 'e5']);
  assert.equal(history.cursor, 3);
  const dirty = history.takeDirty();
  assert.deepEqual(dirty.put.map((e) => e.seq), [3, 4, 5], 'dropped before any save: never written');
  assert.deepEqual(dirty.remove.sort(), [1, 2]);
  history.undo();
  history.push(edit(6));
  assert.deepEqual(history.takeDirty().remove, [5], 'the undone entry goes');
  const big = { label: 'big', imageId: 1, changes: [{ kind: 'instance', imageId: 1, id: 1, before: null, after: { counts: 'x'.repeat(1000) } }] };
  const small = new History({ maxSize: editSize(big) * 2.5 });
  for (let n = 0; n < 5; n++) small.push(big);
  assert.equal(small.entries.length, 2);
  assert.ok(small.size <= small.maxSize);
});

test('the saved project and history restore exactly, and undo still works after a reload', () => {
  const { project, editor } = setUp();
  const [a, b] = project.images;
  editor.commit(project.addInstances(a.id, [disc(1, 10, 10, 4), disc(2, 30, 20, 3)]));
  editor.setCurrentImage(b.id);
  editor.commit(project.addInstances(b.id, [disc(2, 12, 12, 6)]));
  editor.commit(project.updateInstance(b.id, b.instances[0].id, { hidden: true }));
  editor.undo();
  project.updateClass(1, { threshold: 0.3, color: '#123456' });
  const data = saved(editor);
  const again = restored(data);
  assert.deepEqual(saved(again), data, 'the same saved form');
  assert.equal(again.project.currentImageId, b.id);
  assert.equal(again.history.canRedo, true, 'the redo survives');
  again.redo();
  assert.equal(again.project.imageById(b.id).instances[0].hidden, true);
  again.undo();
  again.undo();
  again.undo();
  assert.equal(again.project.currentImageId, a.id);
  assert.equal(again.project.imageById(a.id).instances.length, 0);
  // Decoded masks of the current image come from the saved strings.
  again.redo();
  const [first] = again.currentInstances();
  assert.equal(areaOf(first.mask), first.instance.area);
});

test('a save writes only what changed, and a failed save is written next time', () => {
  const { project, editor } = setUp();
  project.takeDirty();
  editor.history.takeDirty();
  const b = project.images[1];
  editor.commit(project.addInstances(b.id, [disc(1, 10, 10, 4)]));
  const dirty = project.takeDirty();
  assert.deepEqual(dirty, { meta: false, images: [b.id] });
  const entries = editor.history.takeDirty();
  assert.equal(entries.put.length, 1);
  // The write failed: both are dirty again and go with the next save.
  project.markDirty(dirty);
  editor.history.markDirty(entries);
  editor.setCurrentImage(b.id);
  const next = project.takeDirty();
  assert.deepEqual(next.images, [b.id]);
  assert.equal(next.meta, true, 'the current image is in the meta record');
  assert.equal(editor.history.takeDirty().put.length, 1);
});
