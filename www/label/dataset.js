// The project as a COCO dataset and back. Pure: no DOM, no worker. `toCoco` gives what the
// labelling library zips (www/labels.js `exportZip`); `planImport` matches a COCO file (as read
// by `importCoco`: every mask as compressed RLE) to the project's images and the chosen files.

const baseName = (path) => String(path).split(/[\\/]/).pop();

/**
 * The COCO object of the project: images that can be read (and, with `onlyDone`, are marked
 * done), the classes in order as categories 1…n, every instance as an RLE annotation
 * (iscrowd 0). Returns { dataset, skipped: [{ name, why }] }.
 */
export function toCoco(project, { onlyDone = false } = {}) {
  const skipped = [];
  const categoryOf = new Map(project.classes.map((c, i) => [c.id, i + 1]));
  const dataset = {
    info: { description: project.name, version: '1.0', date_created: new Date(project.createdAt).toISOString() },
    images: [],
    categories: project.classes.map((c, i) => ({ id: i + 1, name: c.name, supercategory: '' })),
    annotations: [],
  };
  let annotationId = 1;
  for (const image of project.images) {
    if (onlyDone && image.status !== 'done') continue;
    if (image.error) {
      skipped.push({ name: image.name, why: image.error });
      continue;
    }
    if (!image.width) {
      skipped.push({ name: image.name, why: 'its size is not known yet' });
      continue;
    }
    const imageId = dataset.images.length + 1;
    dataset.images.push({ id: imageId, file_name: image.name, width: image.width, height: image.height });
    for (const instance of image.instances) {
      const category = categoryOf.get(instance.classId);
      if (!category || !instance.area) continue;
      dataset.annotations.push({
        id: annotationId++, image_id: imageId, category_id: category,
        segmentation: { size: [image.height, image.width], counts: instance.counts },
        area: instance.area, bbox: instance.bbox, iscrowd: 0,
      });
    }
  }
  return { dataset, skipped };
}

/**
 * How a COCO dataset joins the project. `files`: [{ name, path }] chosen with it. Each COCO
 * image goes to a project image of the same name (or file name without folders), else to a
 * chosen file of that name; images found nowhere are `missing`; a project image of another
 * size is `mismatched`. Returns { classes: [names to add], categoryNames: Map(id → name),
 * images: [{ image, existing: id } | { image, file: index }], missing: [names], mismatched: [{ name, why }] }.
 */
export function planImport(coco, project, files = []) {
  const known = new Set(project.classes.map((c) => c.name.toLowerCase()));
  const categoryNames = new Map();
  const classes = [];
  for (const category of [...coco.categories].sort((a, b) => a.id - b.id)) {
    const name = String(category.name).trim();
    categoryNames.set(category.id, name);
    if (!known.has(name.toLowerCase())) {
      known.add(name.toLowerCase());
      classes.push(name);
    }
  }
  const byName = (list, nameOf) => {
    const exact = new Map();
    const base = new Map();
    list.forEach((item, index) => {
      exact.set(nameOf(item), index);
      if (!base.has(baseName(nameOf(item)))) base.set(baseName(nameOf(item)), index);
    });
    return (name) => exact.get(name) ?? base.get(baseName(name));
  };
  const findImage = byName(project.images, (image) => image.name);
  const findFile = byName(files, (file) => file.path || file.name);
  const images = [];
  const missing = [];
  const mismatched = [];
  const usedFiles = new Set();
  for (const image of coco.images) {
    const at = findImage(image.file_name);
    if (at !== undefined) {
      const existing = project.images[at];
      if (existing.width && (existing.width !== image.width || existing.height !== image.height)) {
        mismatched.push({ name: image.file_name, why: `the COCO file says ${image.width}×${image.height}, the image is ${existing.width}×${existing.height}` });
      } else {
        images.push({ image, existing: existing.id });
      }
      continue;
    }
    const file = findFile(image.file_name);
    if (file !== undefined && !usedFiles.has(file)) {
      usedFiles.add(file);
      images.push({ image, file });
    } else {
      missing.push(image.file_name);
    }
  }
  return { classes, categoryNames, images, missing, mismatched };
}
