// The labelling page's dataset (www/label/dataset.js): the project as COCO, and how a COCO file
// joins a project.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planImport, toCoco } from '../../www/label/dataset.js';
import { areaOf, bboxOf, emptyMask, stroke } from '../../www/label/mask.js';
import { Project } from '../../www/label/project.js';
import { encodeMask } from '../../www/label/rle.js';
import './rle-codec.mjs';

function project() {
  const p = Project.create({ now: 0 });
  p.addClass({ name: 'cat' });
  p.addClass({ name: 'dog' });
  p.addImages([{ name: 'photos/a.png' }, { name: 'photos/b.png' }, { name: 'c.png' }, { name: 'broken.png' }]);
  const [a, b, , broken] = p.images;
  p.setImageInfo(a.id, { width: 20, height: 10 });
  p.setImageInfo(b.id, { width: 8, height: 8 });
  p.setImageInfo(broken.id, { error: 'not an image' });
  const disc = (classId, x, y, w, h) => {
    const mask = stroke(emptyMask(), [x, y], [x, y], 2, 1, w, h);
    return { classId, counts: encodeMask(mask, w, h), bbox: bboxOf(mask), area: areaOf(mask) };
  };
  p.addInstances(a.id, [disc(2, 5, 5, 20, 10), disc(1, 15, 5, 20, 10)]);
  p.addInstances(b.id, [disc(1, 4, 4, 8, 8)]);
  p.setStatus(b.id, 'done');
  return p;
}

test('the project as COCO: readable images, classes as categories 1…n, instances as RLE, iscrowd 0', () => {
  const p = project();
  const { dataset, skipped } = toCoco(p);
  assert.deepEqual(dataset.images, [
    { id: 1, file_name: 'photos/a.png', width: 20, height: 10 },
    { id: 2, file_name: 'photos/b.png', width: 8, height: 8 },
  ]);
  assert.deepEqual(dataset.categories.map((c) => [c.id, c.name]), [[1, 'cat'], [2, 'dog']]);
  assert.deepEqual(dataset.annotations.map((a) => [a.id, a.image_id, a.category_id, a.iscrowd]), [[1, 1, 2, 0], [2, 1, 1, 0], [3, 2, 1, 0]]);
  const first = dataset.annotations[0];
  assert.deepEqual(first.segmentation.size, [10, 20]);
  assert.equal(first.segmentation.counts, p.images[0].instances[0].counts);
  assert.deepEqual(skipped.map((s) => s.name), ['c.png', 'broken.png']);
  // Reordered classes are reordered categories.
  p.moveClass(2, -1);
  assert.equal(toCoco(p).dataset.annotations[0].category_id, 1);
  assert.deepEqual(toCoco(p, { onlyDone: true }).dataset.images.map((i) => i.file_name), ['photos/b.png']);
});

test('a COCO file joins the project: images by name or file name, new classes, missing and mismatched images', () => {
  const p = project();
  const coco = {
    images: [
      { id: 7, file_name: 'a.png', width: 20, height: 10 }, // project image photos/a.png
      { id: 8, file_name: 'photos/b.png', width: 9, height: 8 }, // other size
      { id: 9, file_name: 'new/d.png', width: 4, height: 4 }, // a chosen file
      { id: 10, file_name: 'e.png', width: 4, height: 4 }, // nowhere
    ],
    categories: [{ id: 5, name: 'Dog' }, { id: 2, name: 'bird' }],
    annotations: [],
  };
  const plan = planImport(coco, p, [{ name: 'd.png', path: '' }, { name: 'x.png', path: '' }]);
  assert.deepEqual(plan.classes, ['bird'], 'dog is known (any case)');
  assert.equal(plan.categoryNames.get(5), 'Dog');
  assert.deepEqual(plan.images.map((m) => [m.image.id, m.existing ?? null, m.file ?? null]), [[7, p.images[0].id, null], [9, null, 0]]);
  assert.deepEqual(plan.missing, ['e.png']);
  assert.equal(plan.mismatched.length, 1);
  assert.match(plan.mismatched[0].why, /9×8.*8×8/);
});
