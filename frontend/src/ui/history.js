/**
 * The revision history dialog: list of snapshots, a read-only view of one (rendered by the server), its diff
 * against the editor's current text, and restore.
 */
import { diffFileSets } from '../lib/diff.js';
import { sharedRules } from '../lib/shared.js';
import { el, byId } from './dom.js';
import { ask, renderDiff, showModal } from './dialogs.js';


export class HistoryDialog {
  /** @param {object} parts  {api, currentFiles() → files, onRestored(revision, files)} */
  constructor({ api, currentFiles, onRestored }) {
    Object.assign(this, { api, currentFiles, onRestored });
    this.dialog = byId('history-dialog');
    this.list = byId('history-list');
    this.view = byId('history-view');
    this.message = byId('history-message');
    this.selected = null;
  }

  async open() {
    this.view.replaceChildren(el('p', {}, 'Choose a revision to view it.'));
    this.message.textContent = 'Loading…';
    this.list.replaceChildren();
    const shown = showModal(this.dialog, byId('history-close'));
    try {
      const { revisions } = await this.api.revisions();
      this.renderList(revisions);
      this.offerStarterDiff(revisions);
      this.message.textContent = revisions.length ? '' : 'No revisions yet.';
    } catch (error) {
      this.message.textContent = `Could not load the history: ${error.message}`;
    }
    return shown;
  }

  renderList(revisions) {
    const items = [...revisions].sort((a, b) => b.revision - a.revision).map((entry) => el('li', {},
      el('button', {
        type: 'button',
        className: 'history-entry',
        'data-revision': entry.revision,
        onclick: () => this.show(entry.revision),
      },
      el('strong', {}, `#${entry.revision}`), ' ',
      el('span', { className: `kind kind-${entry.kind}` }, sharedRules().revisionKinds[entry.kind] || entry.kind), ' ',
      el('time', { datetime: entry.created_at }, formatTime(entry.created_at)),
      entry.author ? el('span', { className: 'author' }, ` · ${entry.author}`) : null,
      entry.message ? el('span', { className: 'message' }, ` — ${entry.message}`) : null)));
    this.list.replaceChildren(...items);
  }

  /**
   * When the sketch was handed out, one click compares the current text with the starter of the newest hand-out,
   * as the bot got it (GET …/sketch/starter): after an "add as new tabs" hand-out the hand-out's revision is the
   * student's sketch with the new tabs, so diffing against it would hide what the student changed of their own.
   */
  offerStarterDiff(revisions) {
    const handOut = revisions.filter((entry) => sharedRules().handOutKinds.includes(entry.kind))
      .sort((a, b) => b.revision - a.revision)[0];
    if (!handOut) return;
    this.view.replaceChildren(el('p', {}, 'Choose a revision to view it, or ',
      el('button', { type: 'button', id: 'history-starter-diff', onclick: () => this.showStarterDiff() },
        `compare with the hand-out (#${handOut.revision})`)));
  }

  async showStarterDiff() {
    this.message.textContent = 'Loading the hand-out…';
    try {
      const starter = await this.api.handedOutStarter();
      for (const button of this.list.querySelectorAll('button')) button.setAttribute('aria-current', 'false');
      this.selected = null;
      const body = el('div', { className: 'history-body' });
      this.view.replaceChildren(el('h3', {}, `The starter handed out in #${starter.revision}`),
        el('p', { className: 'history-starter-message' }, starter.message), body);
      renderDiff(body, diffFileSets(starter.files, this.currentFiles()),
        { before: `starter (hand-out #${starter.revision})`, after: 'current editor' });
      this.message.textContent = '';
    } catch (error) {
      this.message.textContent = `Could not load the hand-out: ${error.message}`;
    }
  }

  async show(revision) {
    this.message.textContent = `Loading revision #${revision}…`;
    try {
      const snapshot = await this.api.revision(revision);
      this.selected = snapshot;
      this.renderSnapshot(snapshot);
      this.message.textContent = '';
    } catch (error) {
      this.message.textContent = `Could not load revision #${revision}: ${error.message}`;
    }
  }

  renderSnapshot(snapshot) {
    for (const button of this.list.querySelectorAll('button')) {
      button.setAttribute('aria-current', String(Number(button.dataset.revision) === snapshot.revision));
    }
    const actions = el('div', { className: 'dialog-actions' },
      el('button', { type: 'button', id: 'history-show-code', onclick: () => this.renderCode(snapshot, body) }, 'View'),
      el('button', { type: 'button', id: 'history-diff', onclick: () => this.renderChanges(snapshot, body) }, 'Diff with current'),
      el('button', { type: 'button', id: 'history-restore', className: 'primary', onclick: () => this.restore(snapshot) },
        `Restore #${snapshot.revision}`));
    const body = el('div', { className: 'history-body' });
    this.view.replaceChildren(el('h3', {}, `Revision #${snapshot.revision} (read-only)`), actions, body);
    this.renderCode(snapshot, body);
  }

  renderCode(snapshot, body) {
    const sections = snapshot.files.map((file) => {
      const code = el('div', { className: 'highlight-host', tabindex: '0', 'aria-label': `${file.name}, read-only` });
      const html = snapshot.html?.[file.name];
      // The server renders this with Pygments, which escapes the sketch text; plain text is the fallback.
      if (html) code.innerHTML = html;
      else code.append(el('pre', {}, file.content));
      return el('section', { className: 'history-file' }, el('h4', {}, file.name), code);
    });
    body.replaceChildren(...sections);
  }

  renderChanges(snapshot, body) {
    renderDiff(body, diffFileSets(snapshot.files, this.currentFiles()),
      { before: `revision #${snapshot.revision}`, after: 'current editor' });
  }

  async restore(snapshot) {
    const confirmed = await ask({
      title: `Restore revision #${snapshot.revision}?`,
      message: 'The editor will show this revision and it becomes the newest revision. Nothing is deleted: '
        + 'the current text stays in the history.',
      okLabel: 'Restore',
    });
    if (!confirmed) return;
    try {
      const { revision } = await this.api.restoreRevision(snapshot.revision);
      this.dialog.close('restored');
      this.onRestored(revision, snapshot.files);
    } catch (error) {
      this.message.textContent = `Could not restore: ${error.message}`;
    }
  }
}

function formatTime(iso) {
  const time = Date.parse(iso);
  return Number.isNaN(time) ? iso || '' : new Date(time).toLocaleString();
}
