// The class list: add, rename, prompts (several separated by ;), colour, reorder, delete,
// import from a text file or a COCO file's categories, and the active class (click or 1–9).
// The active class's threshold slider and "more like this" example are in the Class mask card,
// also drawn here. Owns no state of its own: the classes are the project's.
import { classesFromFile } from './classfile.js';
import { el, h } from './dom.js';
import { clearError, hint, reportError } from './messages.js';
import { editor, save } from './state.js';

const counts = () => {
  const byClass = new Map();
  for (const image of editor.project.images) {
    for (const instance of image.instances) byClass.set(instance.classId, (byClass.get(instance.classId) ?? 0) + 1);
  }
  return byClass;
};

/** Adds classes by name ([{ name, prompts? }]) that the project does not have yet: one edit. */
export function addClasses(list, label) {
  const { project } = editor;
  const known = new Set(project.classes.map((c) => c.name.toLowerCase()));
  const edits = [];
  for (const { name, prompts } of list) {
    if (known.has(name.toLowerCase())) continue;
    known.add(name.toLowerCase());
    edits.push(project.addClass({ name, prompts }));
  }
  const edit = project.combine(label, null, edits);
  editor.commit(edit);
  if (edits.length) editor.setActiveClass(edits[0].changes[0].id);
  return edits.length;
}

/** Makes the class at `index` (0-based, in the list's order) active. */
export function activateIndex(index) {
  const cls = editor.project.classes[index];
  if (cls) editor.setActiveClass(cls.id);
}

function setField(id, fields) {
  editor.project.updateClass(id, fields);
  editor.changed({ classes: true, classFields: true });
  save();
}

function classRow(cls, index, used) {
  const active = cls.id === editor.project.activeClassId;
  const name = h('input', {
    type: 'text', className: 'class-name', value: cls.name, attrs: { 'aria-label': `Name of class ${index + 1}` },
    onchange: () => setField(cls.id, { name: name.value }),
  });
  const prompts = h('input', {
    type: 'text', className: 'class-prompts', value: cls.prompts.join('; '), placeholder: 'prompts; separated by ;',
    title: 'What the model looks for: one or more prompts separated by ;', attrs: { 'aria-label': `Prompts of ${cls.name}` },
    onchange: () => setField(cls.id, { prompts: prompts.value }),
  });
  const color = h('input', {
    type: 'color', className: 'class-color', value: cls.color, title: 'Colour', attrs: { 'aria-label': `Colour of ${cls.name}` },
    oninput: () => setField(cls.id, { color: color.value }),
  });
  const move = (by, glyph, label) => h('button', {
    type: 'button', className: 'icon small', textContent: glyph, title: label, attrs: { 'aria-label': `${label}: ${cls.name}` },
    disabled: index + by < 0 || index + by >= editor.project.classes.length,
    onclick: (event) => {
      event.stopPropagation();
      editor.commit(editor.project.moveClass(cls.id, by));
    },
  });
  const remove = h('button', {
    type: 'button', className: 'icon small delete', textContent: '×', title: 'Delete the class', attrs: { 'aria-label': `Delete ${cls.name}` },
    onclick: (event) => {
      event.stopPropagation();
      const n = used.get(cls.id) ?? 0;
      if (n && !window.confirm(`Delete the class “${cls.name}” and its ${n} instance${n === 1 ? '' : 's'} on every image? (Undo brings them back.)`)) return;
      editor.commit(editor.project.deleteClass(cls.id));
    },
  });
  return h('li', {
    className: `class-row${active ? ' active' : ''}`, dataset: { id: cls.id },
    onclick: (event) => {
      if (!event.target.closest('input, button')) editor.setActiveClass(cls.id);
    },
  },
  h('span', { className: 'hotkey', textContent: index < 9 ? String(index + 1) : '', title: index < 9 ? `Press ${index + 1}` : '' }),
  color,
  h('div', { className: 'class-main' }, name, prompts),
  h('span', { className: 'class-count', textContent: String(used.get(cls.id) ?? 0), title: 'Instances of this class' }),
  h('div', { className: 'class-buttons' }, move(-1, '↑', 'Move up'), move(1, '↓', 'Move down'), remove));
}

/** Redraws the class list and the class-mask card's controls. */
export function renderClasses() {
  const { project } = editor;
  const used = counts();
  // Keep a field being typed in: rebuild only when it is not focused.
  const focused = document.activeElement?.closest?.('.class-row');
  if (focused && el.classList.contains(focused)) {
    for (const li of el.classList.children) li.classList.toggle('active', Number(li.dataset.id) === project.activeClassId);
  } else {
    el.classList.replaceChildren(...project.classes.map((cls, i) => classRow(cls, i, used)));
  }
  const cls = project.activeClass;
  el.threshold.disabled = !cls;
  if (cls) {
    el.threshold.value = String(cls.threshold);
    el.thresholdValue.textContent = cls.threshold.toFixed(2);
  }
  el.minArea.value = String(project.settings.minArea);
  el.likeInfo.hidden = !cls?.exemplar;
  if (cls?.exemplar) {
    const image = project.imageById(cls.exemplar.imageId);
    el.likeInfo.replaceChildren(
      h('span', { className: 'swatch', style: { background: cls.color } }),
      h('span', {}, `Finding more like #${cls.exemplar.instanceId}${image ? ` of ${image.name}` : ''}`),
      h('button', { type: 'button', className: 'small', textContent: 'Text only', title: 'Use the class’s words alone again',
        onclick: () => editor.commit(editor.project.setExemplar(cls.id, null)) }),
    );
  }
}

el.classForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const name = el.classInput.value.trim();
  if (!name) return;
  if (editor.project.classes.some((c) => c.name.toLowerCase() === name.toLowerCase())) {
    hint(`There is a class “${name}” already.`);
    return;
  }
  clearError();
  addClasses([{ name }], `add class “${name}”`);
  el.classInput.value = '';
});

el.classFile.addEventListener('change', async () => {
  const file = el.classFile.files?.[0];
  el.classFile.value = '';
  if (!file) return;
  try {
    const list = classesFromFile(file.name, await file.text());
    const added = addClasses(list, `import classes from “${file.name}”`);
    if (!added) hint(`Every class in “${file.name}” is in the project already.`);
    else clearError();
  } catch (error) {
    reportError(`“${file.name}” cannot be read as a class list: ${error.message}`);
  }
});

el.threshold.addEventListener('input', () => {
  const cls = editor.project.activeClass;
  if (!cls) return;
  el.thresholdValue.textContent = Number(el.threshold.value).toFixed(2);
  editor.project.updateClass(cls.id, { threshold: Number(el.threshold.value) });
  editor.changed({ classes: true, threshold: true });
});
el.threshold.addEventListener('change', () => save());

el.minArea.addEventListener('change', () => {
  const value = Math.max(1, Math.round(Number(el.minArea.value) || 1));
  editor.project.setSetting('minArea', value);
  el.minArea.value = String(value);
  save();
});
