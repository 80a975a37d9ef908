/**
 * The editor page: wires the editor, autosave, builds, live terminal, device panel and dialogs together.
 */
import { configureShared } from './lib/shared.js';
import '@xterm/xterm/css/xterm.css';
import './editor.css';
import { DraftStore, restoreDecision } from './lib/drafts.js';
import { SketchSync } from './lib/sketchsync.js';
import {
  adaptExampleFiles, fileNameProblem, mainFileName, protectedFileProblem,
} from './lib/filenames.js';
import { createApi } from './ui/api.js';
import { byId } from './ui/dom.js';
import { TabbedEditor } from './ui/editor.js';
import { OutputTerminal } from './ui/terminal.js';
import { BuildPanel } from './ui/build.js';
import { DevicePanel } from './ui/device.js';
import { HistoryDialog } from './ui/history.js';
import { resolveConflict } from './ui/conflict.js';
import { LiveConnection } from './ui/live.js';
import { setupMenu } from './ui/menu.js';
import { ask } from './ui/dialogs.js';

const THEME_KEY = 'webide:theme';
const SAVE_STATUS_TEXT = {
  saved: () => 'Saved',
  dirty: (detail) => (detail ? `Unsaved changes (${detail})` : 'Unsaved changes'),
  saving: () => 'Saving…',
  error: (detail) => `Save failed: ${detail}`,
  conflict: () => 'Conflict: someone else saved this sketch',
};
const NEW_FILE_TEMPLATES = { '.h': '#pragma once\n', '.hpp': '#pragma once\n' };

function readPageConfig() {
  return JSON.parse(byId('page-config').textContent);
}

function preferredDark() {
  const stored = safeStorage()?.getItem(THEME_KEY);
  if (stored) return stored === 'dark';
  return window.matchMedia?.('(prefers-color-scheme: dark)').matches ?? false;
}

function safeStorage() {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

function showMessage(text) {
  byId('page-message').textContent = text;
}

class EditorPage {
  constructor(config) {
    this.config = config;
    configureShared(config.rules);
    this.productId = config.productId;
    this.api = createApi(config.productId, config.csrfToken || document.querySelector('meta[name=csrf-token]')?.content);
    this.dark = preferredDark();
    this.sketchName = null;
    this.sync = null;
  }

  async start() {
    this.applyTheme();
    let sketch;
    try {
      sketch = await this.api.getSketch();
    } catch (error) {
      showMessage(`Could not load the sketch: ${error.message}`);
      byId('save-status').textContent = 'Not loaded';
      return;
    }
    this.sketchName = sketch.sketch_name || this.config.device?.product_id || 'sketch';
    this.createEditor(sketch);
    this.createTerminal();
    this.createSync(sketch);
    this.createBuilds();
    this.device = new DevicePanel({ api: this.api, initial: this.config.device, link: this.config.deviceLink });
    this.history = new HistoryDialog({
      api: this.api,
      currentFiles: () => this.editor.files(),
      onRestored: (revision, files) => this.replaceFromServer(revision, files, `Restored as revision #${revision}`),
    });
    this.setupBoards(sketch.fqbn || this.config.device?.fqbn);
    this.setupToolbar();
    this.applyFreeze(this.config.freeze);
    this.setupShortcuts();
    this.connectLive();
    this.exposeForTests();
    await this.offerDraft(sketch);
    this.device.refresh();
  }

  createEditor(sketch) {
    this.editor = new TabbedEditor(byId('editor-host'), byId('tabs'), {
      sketchName: this.sketchName,
      dark: this.dark,
      onChange: () => this.sync?.noteChange(),
    });
    this.editor.setFiles(sketch.files);
  }

  createTerminal() {
    this.terminal = new OutputTerminal(byId('terminal'), {
      dark: this.dark,
      fileNames: () => this.editor.fileNames(),
      onLocation: (file, line, column) => this.editor.jumpTo(file, line, column),
      onTruncated: () => this.builds?.showFullLogLink(),
    });
  }

  createSync(sketch) {
    this.sync = new SketchSync({
      put: (payload) => this.api.putSketch(payload),
      getFiles: () => this.editor.files(),
      drafts: new DraftStore(safeStorage() ?? memoryStorage(), this.productId),
      onState: (state, detail) => this.showSaveState(state, detail),
      onConflict: (current, mine) => this.handleConflict(current, mine),
    });
    this.sync.load(sketch.revision, sketch.files);
  }

  createBuilds() {
    this.builds = new BuildPanel({
      api: this.api,
      terminal: this.terminal,
      editor: this.editor,
      saveFirst: () => this.sync.save(),
      shownRevision: () => this.sync.revision,
      serverNow: () => this.live?.serverNow() ?? Date.now(),
      elements: {
        status: byId('build-status'),
        progress: byId('build-progress'),
        elapsed: byId('build-elapsed'),
        verify: byId('btn-verify'),
        upload: byId('btn-upload'),
        cancel: byId('btn-cancel'),
        fullLog: byId('full-log'),
        firmware: byId('download-firmware'),
      },
    });
  }

  async offerDraft(sketch) {
    const drafts = new DraftStore(safeStorage() ?? memoryStorage(), this.productId);
    const draft = drafts.read();
    const decision = restoreDecision(draft, sketch);
    if (decision === 'none' || decision === 'discard') {
      if (decision === 'discard') drafts.clear();
      return;
    }
    const stale = decision === 'offer-stale';
    const restore = await ask({
      title: 'Restore unsaved changes?',
      message: `This browser kept changes from ${new Date(draft.savedAt).toLocaleString()} that were not saved on the server.`
        + (stale ? ' The sketch was saved elsewhere since; restoring will let you compare both versions.' : ''),
      okLabel: 'Restore',
    });
    if (!restore) {
      drafts.clear();
      return;
    }
    this.editor.setFiles(draft.files);
    this.sync.adoptDraft(draft.baseRevision, sketch.files);
  }

  replaceFromServer(revision, files, message) {
    this.editor.setFiles(files);
    this.sync.adopt(revision, files);
    this.builds.revisionShown(revision);
    showMessage(message);
  }

  /** Exam mode: the sketch is shown read-only with the reason; saving is refused by the server as well. */
  applyFreeze(freeze) {
    if (!freeze) return;
    byId('freeze-notice').textContent = freeze.message;
    byId('freeze-notice').hidden = false;
    byId('ide').classList.add('has-notice');
    if (freeze.readOnly) {
      this.editor.setReadOnly(true);
      for (const id of ['btn-save', 'btn-format', 'btn-new-tab', 'menu-new', 'menu-rename', 'menu-delete', 'menu-import']) {
        byId(id).disabled = true;
      }
      byId('menu-examples').disabled = true;
    }
  }

  /**
   * Another editor of this sketch (the student's other tab, a teacher) saved it: an unchanged buffer follows in
   * place; one with unsaved changes is told it changed elsewhere and offered the comparison.
   */
  async followRemoteSave(event) {
    if (!(event.revision > this.sync.revision)) return;
    await this.sync.inFlight?.catch(() => {});
    if (!(event.revision > this.sync.revision)) return; // it was this page's own save
    let current;
    try {
      current = await this.api.getSketch();
    } catch (error) {
      showMessage(`The sketch changed elsewhere and could not be loaded: ${error.message}`);
      return;
    }
    if (current.revision <= this.sync.revision) return;
    const by = event.author ? ` by ${event.author}` : '';
    if (!this.sync.hasUnsavedChanges()) {
      this.replaceFromServer(current.revision, current.files, `Updated to revision #${current.revision}, saved${by} elsewhere`);
      return;
    }
    showMessage(`Changed elsewhere: revision #${current.revision} was saved${by} while you were editing`);
    this.sync.conflicted(current);
  }

  showSaveState(state, detail) {
    const status = byId('save-status');
    status.textContent = SAVE_STATUS_TEXT[state](detail);
    status.dataset.state = state;
    byId('btn-resolve').hidden = state !== 'conflict';
  }

  async handleConflict(current, mine) {
    const choice = await resolveConflict(current, mine);
    if (choice === 'mine') await this.sync.keepMine();
    else if (choice === 'theirs') {
      this.editor.setFiles(current.files);
      this.sync.takeTheirs();
    }
  }

  setupBoards(fqbn) {
    const select = byId('board-select');
    const boards = [...(this.config.boards || [])];
    if (fqbn && !boards.some((board) => board.fqbn === fqbn)) boards.unshift({ fqbn, name: `${fqbn} (not installed)` });
    select.replaceChildren(...boards.map((board) => new Option(board.name, board.fqbn, false, board.fqbn === fqbn)));
    let previous = select.value;
    select.addEventListener('change', async () => {
      try {
        await this.api.setBoard(select.value);
        previous = select.value;
        showMessage(`Board set to ${select.selectedOptions[0].textContent}`);
      } catch (error) {
        select.value = previous;
        showMessage(`Could not change the board: ${error.message}`);
      }
    });
  }

  setupToolbar() {
    byId('btn-verify').addEventListener('click', () => this.builds.start(false));
    byId('btn-upload').addEventListener('click', () => this.builds.start(true));
    byId('btn-save').addEventListener('click', () => this.save());
    byId('btn-format').addEventListener('click', () => this.format());
    byId('btn-resolve').addEventListener('click', () => this.sync.conflict
      && this.handleConflict(this.sync.conflict, this.editor.files()));
    byId('btn-theme').addEventListener('click', () => this.toggleTheme());
    this.setupPanelToggle(byId('btn-device'), byId('device-panel'), () => this.device.refresh());
    this.setupPanelToggle(byId('btn-monitor'), byId('monitor-panel'));
    setupMenu(byId('btn-file-menu'), byId('file-menu'));
    this.fillExamples();
    byId('menu-new').addEventListener('click', () => this.newTab());
    byId('menu-rename').addEventListener('click', () => this.renameTab());
    byId('menu-delete').addEventListener('click', () => this.deleteTab());
    byId('menu-import').addEventListener('click', () => byId('import-input').click());
    byId('menu-download').addEventListener('click', () => this.download());
    byId('menu-history').addEventListener('click', () => this.history.open());
    byId('btn-new-tab').addEventListener('click', () => this.newTab());
    byId('import-input').addEventListener('change', (event) => this.importFile(event.target));
    window.addEventListener('beforeunload', (event) => {
      if (this.sync.state !== 'saved') event.preventDefault();
    });
  }

  setupPanelToggle(button, panel, onOpen = () => {}) {
    button.addEventListener('click', () => {
      const open = panel.hidden;
      panel.hidden = !open;
      button.setAttribute('aria-expanded', String(open));
      if (open) onOpen();
      this.terminal.refit();
    });
  }

  fillExamples() {
    const menu = byId('examples-menu');
    const items = (this.config.examples || []).map((example) => {
      const item = document.createElement('li');
      item.setAttribute('role', 'none');
      const button = document.createElement('button');
      Object.assign(button, { type: 'button', textContent: example.title });
      button.setAttribute('role', 'menuitem');
      button.dataset.example = example.id;
      button.addEventListener('click', () => this.openExample(example));
      item.append(button);
      return item;
    });
    menu.replaceChildren(...items);
    byId('menu-examples').disabled = items.length === 0;
  }

  setupShortcuts() {
    const actions = {
      r: () => this.builds.start(false),
      u: () => this.builds.start(true),
      s: () => this.save(),
      t: () => this.format(),
    };
    // Capture phase, so the browser's reload / view-source / save-page / new-tab defaults never run first.
    window.addEventListener('keydown', (event) => {
      if (!(event.ctrlKey || event.metaKey) || event.altKey || event.shiftKey) return;
      const action = actions[event.key.toLowerCase()];
      if (!action) return;
      event.preventDefault();
      event.stopPropagation();
      if (!event.repeat) action();
    }, { capture: true });
  }

  async save() {
    const result = await this.sync.save({ explicit: true });
    if (result.ok) showMessage(`Saved as revision #${result.revision}`);
  }

  async format() {
    const name = this.editor.active;
    try {
      const { content } = await this.api.format(name, this.editor.text(name));
      if (content !== this.editor.text(name)) this.editor.setText(name, content);
      showMessage(`Auto Format: ${name} formatted`);
    } catch (error) {
      showMessage(error.status === 503 ? 'Auto Format is not available on this server (clang-format is not installed).'
        : `Auto Format failed: ${error.message}`);
    }
  }

  async newTab() {
    const name = await ask({
      title: 'New tab',
      okLabel: 'Create',
      input: { label: 'File name (.ino, .h, .hpp, .c, .cpp or .S)', value: '', validate: (value) => fileNameProblem(value, this.editor.fileNames()) },
    });
    if (!name) return;
    const extension = name.slice(name.lastIndexOf('.'));
    this.editor.addFile(name, NEW_FILE_TEMPLATES[extension] ?? '');
  }

  async renameTab() {
    const current = this.editor.active;
    const problem = protectedFileProblem(current, this.sketchName);
    if (problem) {
      showMessage(problem);
      return;
    }
    const others = this.editor.fileNames().filter((name) => name !== current);
    const name = await ask({
      title: `Rename ${current}`,
      okLabel: 'Rename',
      input: { label: 'New file name', value: current, validate: (value) => fileNameProblem(value, others) },
    });
    if (name && name !== current) this.editor.renameFile(current, name);
  }

  async deleteTab() {
    const current = this.editor.active;
    const problem = protectedFileProblem(current, this.sketchName);
    if (problem) {
      showMessage(problem);
      return;
    }
    const confirmed = await ask({
      title: `Delete ${current}?`,
      message: 'The file is removed from the sketch. Earlier revisions in the history keep it.',
      okLabel: 'Delete',
    });
    if (confirmed) this.editor.deleteFile(current);
  }

  async openExample(example) {
    const confirmed = await ask({
      title: `Open example “${example.title}”?`,
      message: 'The example replaces the files in the editor. Your current text stays in the history.',
      okLabel: 'Open copy',
    });
    if (!confirmed) return;
    try {
      const saved = await this.sync.save();
      if (!saved.ok) throw new Error(`save the current text first (${saved.error})`);
      const { files } = await this.api.example(example.id);
      this.editor.setFiles(adaptExampleFiles(files, this.sketchName));
      this.sync.noteChange();
      const result = await this.sync.save({ explicit: true, message: `Opened example ${example.title}` });
      if (result.ok) showMessage(`Opened a copy of ${example.title} (revision #${result.revision})`);
    } catch (error) {
      showMessage(`Could not open the example: ${error.message}`);
    }
  }

  async importFile(input) {
    const [file] = input.files;
    input.value = '';
    if (!file) return;
    try {
      const saved = await this.sync.save();
      if (!saved.ok) throw new Error(`save the current text first (${saved.error})`);
      const { revision, files } = await this.api.importSketch(file);
      this.replaceFromServer(revision, files, `Imported ${file.name} as revision #${revision}`);
    } catch (error) {
      showMessage(`Import failed: ${error.message}`);
    }
  }

  async download() {
    const saved = await this.sync.save();
    if (!saved.ok) showMessage(`The download has the last saved revision: ${saved.error}`);
    window.location.assign(this.api.zipUrl);
  }

  toggleTheme() {
    this.dark = !this.dark;
    safeStorage()?.setItem(THEME_KEY, this.dark ? 'dark' : 'light');
    this.applyTheme();
    this.editor.setDark(this.dark);
    this.terminal.setDark(this.dark);
  }

  applyTheme() {
    document.documentElement.dataset.theme = this.dark ? 'dark' : 'light';
    byId('btn-theme').setAttribute('aria-pressed', String(this.dark));
  }

  connectLive() {
    const status = byId('connection-status');
    this.live = new LiveConnection({
      productId: this.productId,
      path: this.config.socketPath || '/socket.io',
      onEvent: (event) => {
        if (event.type === 'sketch') this.followRemoteSave(event);
        this.builds.handleEvent(event);
        this.device.handleEvent(event);
      },
      onLink: (state) => this.device.showLink(state),
      onStatus: (state) => {
        status.textContent = { connecting: 'connecting…', connected: 'live', reconnecting: 'reconnecting…' }[state];
        status.dataset.state = state;
      },
      onServerError: (message) => showMessage(`Live updates: ${message}`),
    });
  }

  exposeForTests() {
    window.webide = {
      editorText: (name) => this.editor.text(name ?? mainFileName(this.sketchName)),
      setEditorText: (name, text) => this.editor.setText(name, text),
      diagnostics: () => this.editor.diagnostics(),
      lastSeq: () => this.live.lastSeq(),
      terminalText: () => this.terminal.text(),
      terminalSettled: () => this.terminal.settled(),
      saveState: () => this.sync.state,
      revision: () => this.sync.revision,
    };
  }
}

function memoryStorage() {
  const items = new Map();
  return {
    getItem: (key) => items.get(key) ?? null,
    setItem: (key, value) => items.set(key, String(value)),
    removeItem: (key) => items.delete(key),
  };
}

new EditorPage(readPageConfig()).start();
