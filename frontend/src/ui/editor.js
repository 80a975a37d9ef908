/**
 * The code editor: one CodeMirror view showing one state per sketch file (tab), with C++ highlighting, lint
 * markers for compiler diagnostics and a light/dark theme switch.
 */
import { basicSetup } from 'codemirror';
import { EditorState, Compartment } from '@codemirror/state';
import { EditorView, keymap } from '@codemirror/view';
import { indentWithTab } from '@codemirror/commands';
import { cpp } from '@codemirror/lang-cpp';
import { search } from '@codemirror/search';
import { lintGutter, setDiagnostics } from '@codemirror/lint';
import { oneDark } from '@codemirror/theme-one-dark';
import { diagnosticsByFile, rangeFor } from '../lib/diagnostics.js';
import { sortTabNames } from '../lib/filenames.js';
import { el } from './dom.js';

const lightTheme = EditorView.theme({}, { dark: false });

export class TabbedEditor {
  /**
   * @param {HTMLElement} host  where the CodeMirror view goes
   * @param {HTMLElement} tabList  the role=tablist container
   * @param {object} options  {sketchName, dark, onChange()}
   */
  constructor(host, tabList, { sketchName, dark, onChange }) {
    this.host = host;
    this.tabList = tabList;
    this.sketchName = sketchName;
    this.onChange = onChange;
    this.themeCompartment = new Compartment();
    this.readOnlyCompartment = new Compartment();
    this.readOnly = false;
    this.dark = dark;
    this.states = new Map();
    this.active = null;
    this.rawDiagnostics = [];
    this.silent = false;
    this.view = new EditorView({ parent: host });
    tabList.addEventListener('keydown', (event) => this.onTabKey(event));
  }

  /** File names in tab order (main sketch first). */
  fileNames() {
    return sortTabNames([...this.states.keys()], this.sketchName);
  }

  /** The editor's files as [{name, content}] in tab order. */
  files() {
    this.stash();
    return this.fileNames().map((name) => ({ name, content: this.states.get(name).doc.toString() }));
  }

  /** Replace every tab with `files`, keeping the current tab open when it still exists. */
  setFiles(files) {
    const keep = this.active;
    this.silent = true;
    this.states.clear();
    for (const file of files) this.states.set(file.name, this.createState(file.name, file.content));
    this.active = null;
    const names = this.fileNames();
    this.show(names.includes(keep) ? keep : names[0]);
    this.silent = false;
    this.applyDiagnostics();
  }

  text(name) {
    this.stash();
    return this.states.get(name)?.doc.toString() ?? null;
  }

  /** Replace one file's text as if typed (triggers autosave); creates the tab if needed. */
  setText(name, text) {
    if (!this.states.has(name)) {
      this.addFile(name, text);
      return;
    }
    const transaction = { changes: { from: 0, to: this.states.get(name).doc.length, insert: text } };
    if (name === this.active) this.view.dispatch(transaction);
    else {
      this.states.set(name, this.states.get(name).update(transaction).state);
      this.onChange();
    }
  }

  addFile(name, content = '') {
    this.stash();
    this.states.set(name, this.createState(name, content));
    this.show(name);
    this.onChange();
  }

  renameFile(oldName, newName) {
    this.stash();
    const content = this.states.get(oldName).doc.toString();
    this.states.delete(oldName);
    this.states.set(newName, this.createState(newName, content));
    this.active = null;
    this.show(newName);
    this.onChange();
  }

  deleteFile(name) {
    this.states.delete(name);
    if (this.active === name) this.active = null;
    this.show(this.fileNames()[0]);
    this.onChange();
  }

  /** Switch the view to the tab `name`. */
  show(name) {
    if (!this.states.has(name)) return;
    this.stash();
    this.active = name;
    this.view.setState(this.states.get(name));
    this.renderTabs();
  }

  focus() {
    this.view.focus();
  }

  setDark(dark) {
    this.dark = dark;
    this.reconfigureAll(this.themeCompartment.reconfigure(dark ? oneDark : lightTheme));
  }

  /** Lock every tab against typing (exam mode) or unlock it. */
  setReadOnly(readOnly) {
    this.readOnly = readOnly;
    this.reconfigureAll(this.readOnlyCompartment.reconfigure(readOnlyExtensions(readOnly)));
  }

  /** Show compiler diagnostics as gutter markers and underlines; an empty list clears them. */
  setDiagnostics(diagnostics) {
    this.rawDiagnostics = diagnostics || [];
    this.applyDiagnostics();
  }

  diagnostics() {
    return this.rawDiagnostics;
  }

  /** Open the file and put the cursor at the 1-based line/column. */
  jumpTo(file, line, column) {
    if (!this.states.has(file)) return false;
    this.show(file);
    const { from } = rangeFor(this.view.state.doc.toString(), line, column);
    this.view.dispatch({ selection: { anchor: from }, scrollIntoView: true });
    this.view.focus();
    return true;
  }

  applyDiagnostics() {
    this.stash();
    const grouped = diagnosticsByFile(this.rawDiagnostics, this.files());
    for (const name of this.fileNames()) {
      const list = (grouped[name] || []).map(({ from, to, severity, message }) => ({ from, to, severity, message, source: 'gcc' }));
      const state = this.states.get(name);
      const transaction = setDiagnostics(state, list);
      if (name === this.active) this.view.dispatch(transaction);
      else this.states.set(name, state.update(transaction).state);
    }
    this.renderTabs(grouped);
  }

  reconfigureAll(effect) {
    this.stash();
    for (const [name, state] of this.states) {
      if (name === this.active) this.view.dispatch({ effects: effect });
      else this.states.set(name, state.update({ effects: effect }).state);
    }
  }

  stash() {
    if (this.active && this.states.has(this.active)) this.states.set(this.active, this.view.state);
  }

  createState(name, content) {
    return EditorState.create({
      doc: content,
      extensions: [
        basicSetup,
        keymap.of([indentWithTab]),
        cpp(),
        search({ top: true }),
        lintGutter(),
        this.themeCompartment.of(this.dark ? oneDark : lightTheme),
        this.readOnlyCompartment.of(readOnlyExtensions(this.readOnly)),
        EditorView.contentAttributes.of({ 'aria-label': `Code editor: ${name}` }),
        EditorView.updateListener.of((update) => {
          if (update.docChanged && !this.silent) this.onChange();
        }),
      ],
    });
  }

  renderTabs(grouped = null) {
    const problems = grouped || diagnosticsByFile(this.rawDiagnostics, this.files());
    const tabs = this.fileNames().map((name) => {
      const selected = name === this.active;
      const errors = (problems[name] || []).filter((d) => d.severity === 'error').length;
      return el('button', {
        type: 'button',
        role: 'tab',
        id: `tab-${name}`,
        'data-file': name,
        'aria-selected': selected ? 'true' : 'false',
        'aria-controls': this.host.id,
        tabindex: selected ? '0' : '-1',
        className: errors ? 'tab has-errors' : 'tab',
        title: errors ? `${name}: ${errors} error(s)` : name,
        onclick: () => this.show(name),
      }, name, errors ? el('span', { className: 'tab-badge', 'aria-label': `${errors} errors` }, String(errors)) : null);
    });
    this.tabList.replaceChildren(...tabs);
    this.host.setAttribute('aria-labelledby', this.active ? `tab-${this.active}` : '');
  }

  onTabKey(event) {
    const names = this.fileNames();
    const index = names.indexOf(this.active);
    const moves = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: names.length - 1 };
    if (!(event.key in moves)) return;
    event.preventDefault();
    const target = names[(moves[event.key] + names.length) % names.length];
    this.show(target);
    this.tabList.querySelector(`[data-file="${CSS.escape(target)}"]`)?.focus();
  }
}

function readOnlyExtensions(readOnly) {
  return readOnly ? [EditorState.readOnly.of(true), EditorView.editable.of(false)] : [];
}
