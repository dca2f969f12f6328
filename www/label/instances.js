// The current image's instance list (select, hide, delete, relabel) and the actions on the
// selected instance that the buttons and keys share: delete, hide, relabel to the active
// class, and "more like this" (the instance becomes its class's visual example).
import { el, h, revealIn } from './dom.js';
import { hint } from './messages.js';
import { editor } from './state.js';

export function deleteSelected() {
  const { selected, project } = editor;
  if (selected === null) return;
  editor.commit(project.deleteInstances(project.currentImageId, [selected]));
}

export function toggleHidden(id = editor.selected) {
  const instance = editor.project.instanceOf(editor.project.currentImageId, id);
  if (!instance) return;
  editor.commit(editor.project.updateInstance(editor.project.currentImageId, id, { hidden: !instance.hidden }, `${instance.hidden ? 'show' : 'hide'} #${id}`));
}

export function relabelSelected() {
  const { project, selected } = editor;
  const cls = project.activeClass;
  if (selected === null || !cls) return;
  editor.commit(project.updateInstance(project.currentImageId, selected, { classId: cls.id }, `relabel #${selected} as ${cls.name}`));
}

/** The selected instance becomes its class's example: the class mask then looks for more like it. */
export function likeSelected() {
  const { project } = editor;
  const entry = editor.selection();
  const image = project.currentImage;
  if (!entry || !image) {
    hint('Select an instance first: “More like this” looks for objects like it, here and on the next images.');
    return;
  }
  const { instance } = entry;
  editor.commit(project.setExemplar(instance.classId, {
    imageId: image.id, instanceId: instance.id, counts: instance.counts, width: image.width, height: image.height,
  }));
  editor.setActiveClass(instance.classId);
}

/** Redraws the list. */
export function renderInstances() {
  const { project, selected } = editor;
  const image = project.currentImage;
  const instances = image?.instances ?? [];
  el.instanceCount.textContent = instances.length ? String(instances.length) : '';
  el.instancesEmpty.hidden = instances.length > 0;
  el.instanceList.replaceChildren(...instances.map((instance) => {
    const cls = project.classById(instance.classId);
    const isSelected = instance.id === selected;
    return h('li', {
      className: `instance-row${isSelected ? ' selected' : ''}${instance.hidden ? ' hidden-instance' : ''}`,
      dataset: { id: instance.id },
      onclick: (event) => {
        if (!event.target.closest('button, select')) editor.select(isSelected ? null : instance.id);
      },
    },
    h('span', { className: 'swatch', style: { background: cls?.color ?? '#777' } }),
    h('span', { className: 'instance-name' }, h('b', {}, `#${instance.id}`), ` ${cls?.name ?? '?'}`),
    h('span', { className: 'instance-area', textContent: `${instance.area.toLocaleString()} px` }),
    h('button', {
      type: 'button', className: 'icon small', textContent: instance.hidden ? '◌' : '◉', title: instance.hidden ? 'Show (H)' : 'Hide (H)',
      attrs: { 'aria-label': `${instance.hidden ? 'Show' : 'Hide'} #${instance.id}`, 'aria-pressed': String(instance.hidden) },
      onclick: () => toggleHidden(instance.id),
    }),
    h('button', {
      type: 'button', className: 'icon small delete', textContent: '×', title: 'Delete', attrs: { 'aria-label': `Delete #${instance.id}` },
      onclick: () => editor.commit(project.deleteInstances(project.currentImageId, [instance.id])),
    }));
  }));
  const has = selected !== null;
  el.likeButton.disabled = !has;
  el.relabelButton.disabled = !has || !project.activeClass || project.instanceOf(project.currentImageId, selected)?.classId === project.activeClassId;
  el.deleteButton.disabled = !has;
  revealIn(el.instanceList, el.instanceList.querySelector('.selected'));
}

el.likeButton.addEventListener('click', likeSelected);
el.relabelButton.addEventListener('click', relabelSelected);
el.deleteButton.addEventListener('click', deleteSelected);
