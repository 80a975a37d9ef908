/**
 * Modal dialogs on the native <dialog> element (which keeps focus inside and closes on Escape), returning focus
 * to whatever was focused before; plus the diff view shared by the conflict and history dialogs.
 */
import { el } from './dom.js';

/** The open session of each dialog whose `close` event has not arrived yet: calling it ends that session. */
const sessions = new WeakMap();

/**
 * Open `dialog` modally; resolves with its returnValue when closed. Focus goes back to the opener.
 *
 * The browser fires `close` a task after the dialog closes, so a quick Escape-then-Enter can reopen the dialog
 * before the first session has heard of its close: the reopening ends that session on the spot, and a `close`
 * event that arrives while the dialog is open again belongs to it and is ignored.
 */
export function showModal(dialog, focusTarget = null) {
  sessions.get(dialog)?.();
  const opener = document.activeElement;
  return new Promise((resolve) => {
    const end = () => {
      dialog.removeEventListener('close', onClose);
      sessions.delete(dialog);
      if (opener instanceof HTMLElement && opener.isConnected) opener.focus();
      resolve(dialog.returnValue);
    };
    const onClose = () => {
      if (!dialog.open) end();
    };
    dialog.addEventListener('close', onClose);
    sessions.set(dialog, end);
    dialog.returnValue = '';
    dialog.showModal();
    (focusTarget || dialog.querySelector('[autofocus], input, select, textarea, button'))?.focus();
  });
}

let askDialog = null;

function ensureAskDialog() {
  if (askDialog) return askDialog;
  const input = el('input', { id: 'ask-input', type: 'text', autocomplete: 'off', spellcheck: 'false' });
  const form = el('form', { method: 'dialog' },
    el('h2', { id: 'ask-title' }),
    el('p', { id: 'ask-message' }),
    el('label', { id: 'ask-label', for: 'ask-input' }),
    input,
    el('p', { id: 'ask-error', className: 'error', role: 'alert' }),
    el('div', { className: 'dialog-actions' },
      el('button', { type: 'submit', value: 'ok', id: 'ask-ok', className: 'primary' }, 'OK'),
      el('button', { type: 'submit', value: 'cancel', id: 'ask-cancel', formnovalidate: true }, 'Cancel')));
  // OK comes first so pressing Enter in the field (implicit submission) means OK.
  askDialog = el('dialog', { id: 'ask-dialog', 'aria-labelledby': 'ask-title', 'aria-describedby': 'ask-message' }, form);
  document.body.append(askDialog);
  return askDialog;
}

/**
 * Ask a question. With `input` set ({label, value, validate(value) → message|null}) it is a prompt and resolves
 * the entered text (null on cancel); otherwise it resolves true/false.
 */
export async function ask({ title, message = '', okLabel = 'OK', input = null }) {
  const dialog = ensureAskDialog();
  const field = dialog.querySelector('#ask-input');
  const error = dialog.querySelector('#ask-error');
  dialog.querySelector('#ask-title').textContent = title;
  dialog.querySelector('#ask-message').textContent = message;
  dialog.querySelector('#ask-ok').textContent = okLabel;
  dialog.querySelector('#ask-label').textContent = input?.label ?? '';
  dialog.querySelector('#ask-label').hidden = !input;
  field.hidden = !input;
  field.value = input?.value ?? '';
  error.textContent = '';
  const form = dialog.querySelector('form');
  let answer = null;
  const validate = (event) => {
    if (!input || event.submitter?.value !== 'ok') return;
    const problem = input.validate ? input.validate(field.value.trim()) : null;
    if (problem) {
      event.preventDefault();
      error.textContent = problem;
      field.focus();
      return;
    }
    answer = field.value.trim();
  };
  form.addEventListener('submit', validate);
  const result = await showModal(dialog, input ? field : dialog.querySelector('#ask-ok'));
  form.removeEventListener('submit', validate);
  if (input) return result === 'ok' ? answer : null;
  return result === 'ok';
}

/** Render per-file diffs (from diffFileSets) into `container`, labelled with what the two sides are. */
export function renderDiff(container, fileDiffs, { before, after }) {
  if (fileDiffs.length === 0) {
    container.replaceChildren(el('p', {}, 'No differences.'));
    return;
  }
  const legend = el('p', { className: 'diff-legend' },
    el('span', { className: 'diff-del' }, `− ${before}`), ' ', el('span', { className: 'diff-add' }, `+ ${after}`));
  const sections = fileDiffs.map((file) => el('section', { className: 'diff-file' },
    el('h3', {}, `${file.name} (${file.status})`),
    el('pre', { className: 'diff', tabindex: '0', 'aria-label': `Differences in ${file.name}` },
      ...file.hunks.flatMap((hunk) => [
        el('span', { className: 'diff-hunk' }, `@@ -${hunk.oldStart},${hunk.oldCount} +${hunk.newStart},${hunk.newCount} @@\n`),
        ...hunk.lines.map((line) => el('span', { className: diffClass(line.op) }, `${line.op}${line.text}\n`)),
      ]))));
  container.replaceChildren(legend, ...sections);
}

function diffClass(op) {
  if (op === '+') return 'diff-add';
  if (op === '-') return 'diff-del';
  return 'diff-ctx';
}
