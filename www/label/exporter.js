// The dataset out and in: one zip (COCO with RLE or polygons, YOLO-seg, PNG masks) built by the
// labelling library in its worker, an import of a COCO file (with the images chosen alongside,
// or those already in the project) to carry on labelling, and "New project".
import { toCoco, planImport } from './dataset.js';
import { download, el } from './dom.js';
import { addFiles, fileOf } from './files.js';
import { clearError, hint, reportError, setBusy, showMessage } from './messages.js';
import { Project } from './project.js';
import { History } from './history.js';
import { editor, labelsWorker, save, store } from './state.js';

let lastExport = null; // { dataset, bytes, name } of the last zip, for the tests

export const exportInfo = () => lastExport;

// Images never opened have no known size yet: read it from their files.
async function measureImages(project) {
  for (const image of project.images) {
    if (image.width || image.error) continue;
    const file = await fileOf(image.id);
    try {
      const bitmap = await createImageBitmap(file);
      project.setImageInfo(image.id, { width: bitmap.width, height: bitmap.height });
      bitmap.close();
    } catch {
      project.setImageInfo(image.id, { error: file ? 'not an image this browser can open' : 'its file is no longer stored' });
    }
  }
}

export async function exportDataset() {
  const formats = el.formats.filter((box) => box.checked).map((box) => box.value);
  if (!formats.length) {
    hint('Choose at least one format to export.');
    return;
  }
  const { project } = editor;
  setBusy('exporting', true);
  try {
    await measureImages(project);
    save();
    const { dataset, skipped } = toCoco(project, { onlyDone: el.onlyDone.checked });
    if (!dataset.images.length) {
      hint(el.onlyDone.checked ? 'No image is marked done yet: mark some done (Enter), or untick “Only images marked done”.' : 'There is no image to export: add photos first.');
      return;
    }
    const blob = await labelsWorker().exportZip(dataset, { formats, segmentation: el.segmentationSelect.value });
    const name = `${(project.name || 'dataset').replace(/[^\w.-]+/g, '-').toLowerCase()}-${new Date().toISOString().slice(0, 10)}.zip`;
    lastExport = { dataset, bytes: blob.size, name, formats };
    download(blob, name);
    if (skipped.length) {
      showMessage(`Exported ${dataset.images.length} images with ${dataset.annotations.length} instances; skipped ${skipped.map((s) => `“${s.name}” (${s.why})`).join(', ')}.`);
    } else {
      clearError();
    }
  } catch (error) {
    reportError(`The dataset could not be exported: ${error.message}`);
  } finally {
    setBusy('exporting', false);
  }
}

/** Imports a COCO file, with the images chosen alongside it: classes, images and instances. */
export async function importCoco(chosen) {
  const jsons = chosen.filter((file) => /\.json$/i.test(file.name) || file.type === 'application/json');
  const images = chosen.filter((file) => !jsons.includes(file));
  if (jsons.length !== 1) {
    hint(jsons.length ? 'Choose one COCO JSON file at a time (with its images).' : 'Choose a COCO JSON file (and its images, unless they are in the project already).');
    return;
  }
  const [json] = jsons;
  setBusy('importing', true);
  try {
    let coco;
    try {
      coco = await labelsWorker().importCoco(await json.text());
    } catch (error) {
      reportError(`“${json.name}” cannot be imported: ${error.message}`);
      return;
    }
    const { project } = editor;
    const plan = planImport(coco, project, images.map((file) => ({ name: file.name, path: file.webkitRelativePath || '' })));
    // New images first (kept even if nothing else is imported: their files are stored).
    const wanted = plan.images.filter((m) => m.file !== undefined);
    const added = await addFiles(wanted.map((m) => ({ file: images[m.file], path: m.image.file_name })), { quiet: true });
    const idOf = new Map(plan.images.filter((m) => m.existing !== undefined).map((m) => [m.image.id, m.existing]));
    wanted.forEach((m, i) => {
      const image = added.find((a) => a.name === m.image.file_name) ?? added[i];
      if (image) idOf.set(m.image.id, image.id);
    });
    const edits = plan.classes.map((name) => project.addClass({ name }));
    const classOf = new Map();
    for (const [categoryId, name] of plan.categoryNames) {
      classOf.set(categoryId, project.classes.find((c) => c.name.toLowerCase() === name.toLowerCase())?.id);
    }
    let count = 0;
    for (const { image } of plan.images) {
      const id = idOf.get(image.id);
      if (id === undefined) continue;
      const target = project.imageById(id);
      if (!target.width) project.setImageInfo(id, { width: image.width, height: image.height });
      const annotations = coco.annotations.filter((a) => a.image_id === image.id && classOf.get(a.category_id) !== undefined);
      const fresh = annotations.map((a) => ({ classId: classOf.get(a.category_id), counts: a.segmentation.counts, bbox: a.bbox, area: a.area }))
        .filter((a) => a.area > 0 && !target.instances.some((i) => i.counts === a.counts && i.classId === a.classId));
      count += fresh.length;
      edits.push(project.addInstances(id, fresh));
    }
    const edit = project.combine(`import “${json.name}”`, editor.project.currentImageId, edits);
    editor.commit(edit);
    save();
    const problems = [
      ...(plan.missing.length ? [`${plan.missing.length} image${plan.missing.length === 1 ? '' : 's'} of the file ${plan.missing.length === 1 ? 'was' : 'were'} not found (choose ${plan.missing.length === 1 ? 'it' : 'them'} with the JSON): ${plan.missing.slice(0, 5).join(', ')}${plan.missing.length > 5 ? '…' : ''}`] : []),
      ...plan.mismatched.map((m) => `“${m.name}” skipped: ${m.why}`),
    ];
    const summary = `Imported ${count} instance${count === 1 ? '' : 's'} on ${plan.images.length} image${plan.images.length === 1 ? '' : 's'}${plan.classes.length ? `, ${plan.classes.length} new class${plan.classes.length === 1 ? '' : 'es'}` : ''}.`;
    if (problems.length) showMessage(`${summary} ${problems.join('. ')}.`);
    else clearError();
  } finally {
    setBusy('importing', false);
  }
}

/** Clears everything after a confirm (the only way work is deleted). */
export async function newProject() {
  const { total: images, instances } = editor.project.counts();
  if ((images || instances || editor.project.classes.length) && !window.confirm(
    `Start a new project? This deletes the current one from this browser: ${images} images and ${instances} instances. Export it first if you need it.`,
  )) return false;
  try {
    await save(); // let a write in flight finish first, so it cannot land after the clear
    await store.clearAll();
  } catch (error) {
    reportError(`The project could not be cleared: ${error.message}. It is kept as it is.`);
    return false;
  }
  editor.replace(Project.create(), new History());
  await save();
  clearError();
  return true;
}

el.exportButton.addEventListener('click', exportDataset);
el.importInput.addEventListener('change', () => {
  const chosen = [...(el.importInput.files ?? [])];
  el.importInput.value = '';
  if (chosen.length) importCoco(chosen);
});
el.newProject.addEventListener('click', newProject);
