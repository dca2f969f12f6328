// Files dragged over a page: the body has the class `dragging` while they are over it (the drop
// hint shows), and the browser is told a drop copies them. Each page handles the drop itself and
// calls dragEnded().

/** True when the drag carries files. */
export const hasFiles = (event) => [...(event.dataTransfer?.types ?? [])].includes('Files');

let depth = 0; // dragenter and dragleave fire for every element crossed

/** The drag is over (dropped): the hint goes. */
export function dragEnded() {
  depth = 0;
  document.body.classList.remove('dragging');
}

/** Starts watching drags over the document (once per page). */
export function watchFileDrags() {
  document.addEventListener('dragenter', (event) => {
    if (!hasFiles(event)) return;
    depth++;
    document.body.classList.add('dragging');
  });
  document.addEventListener('dragleave', () => {
    depth = Math.max(0, depth - 1);
    if (!depth) document.body.classList.remove('dragging');
  });
  document.addEventListener('dragover', (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = 'copy';
  });
}
