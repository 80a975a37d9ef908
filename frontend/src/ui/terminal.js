/**
 * The output terminal: xterm.js showing compile and flash lines with their colours, fitted to its panel, with
 * compiler locations turned into links that jump into the editor.
 */
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import { findLocations } from '../lib/termlinks.js';
import { stripAnsi } from '../lib/ansi.js';

const LIGHT = { background: '#ffffff', foreground: '#1d232b', cursor: '#ffffff', selectionBackground: '#b4d5fe' };
const DARK = { background: '#1e2127', foreground: '#d7dae0', cursor: '#1e2127', selectionBackground: '#3e4451' };

export class OutputTerminal {
  /**
   * @param {HTMLElement} container
   * @param {object} options  {dark, fileNames(): string[], onLocation(file, line, column)}
   */
  constructor(container, { dark, fileNames, onLocation }) {
    this.term = new Terminal({
      convertEol: true,
      disableStdin: true,
      cursorBlink: false,
      scrollback: 5000,
      fontSize: 13,
      fontFamily: 'ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace',
      theme: dark ? DARK : LIGHT,
    });
    this.fit = new FitAddon();
    this.term.loadAddon(this.fit);
    this.term.open(container);
    this.term.registerLinkProvider({
      provideLinks: (row, callback) => callback(this.linksOnRow(row, fileNames(), onLocation)),
    });
    this.plain = [];
    new ResizeObserver(() => this.refit()).observe(container);
    this.refit();
  }

  linksOnRow(row, fileNames, onLocation) {
    const line = this.term.buffer.active.getLine(row - 1);
    if (!line) return undefined;
    const links = findLocations(line.translateToString(true), fileNames).map((location) => ({
      range: { start: { x: location.start + 1, y: row }, end: { x: location.end, y: row } },
      text: `${location.file}:${location.line}`,
      decorations: { underline: true, pointerCursor: true },
      activate: () => onLocation(location.file, location.line, location.column),
    }));
    return links.length ? links : undefined;
  }

  /** Append one line; ANSI colour codes in `text` are drawn, the plain text is kept for tests and copying. */
  writeLine(text, style = '') {
    const body = String(text).replace(/\r?\n$/, '');
    this.plain.push(stripAnsi(body));
    this.term.write(`${style}${body}${style ? '\x1b[0m' : ''}\r\n`);
  }

  info(text) {
    this.writeLine(text, '\x1b[36m');
  }

  success(text) {
    this.writeLine(text, '\x1b[32m');
  }

  failure(text) {
    this.writeLine(text, '\x1b[31;1m');
  }

  clear() {
    this.plain = [];
    this.term.reset();
  }

  /** Everything written since the last clear, without colour codes. */
  text() {
    return this.plain.join('\n');
  }

  setDark(dark) {
    this.term.options.theme = dark ? DARK : LIGHT;
  }

  refit() {
    if (this.term.element?.offsetParent === null) return;
    try {
      this.fit.fit();
    } catch {
      // Not laid out yet (hidden panel); the next resize fits it.
    }
  }
}
