/**
 * The output terminal: xterm.js showing compile and flash lines with their colours, fitted to its panel, with
 * compiler locations turned into links that jump into the editor.
 *
 * Lines are batched: they are queued and written once per animation frame, so a build printing thousands of lines
 * keeps the page responsive. The terminal keeps the last SCROLLBACK lines; when a build prints more, the oldest
 * ones are dropped (before they ever reach xterm when they come in one burst) and `onTruncated` is called, so the
 * page can offer the full stored log instead.
 */
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import { findLocations } from '../lib/termlinks.js';

export const SCROLLBACK = 5000;
const RESET = '\x1bc'; // full reset, written in order with the lines (xterm's reset() would overtake queued writes)

const LIGHT = { background: '#ffffff', foreground: '#1d232b', cursor: '#ffffff', selectionBackground: '#b4d5fe' };
const DARK = { background: '#1e2127', foreground: '#d7dae0', cursor: '#1e2127', selectionBackground: '#3e4451' };

export class OutputTerminal {
  /**
   * @param {HTMLElement} container
   * @param {object} options  {dark, fileNames(): string[], onLocation(file, line, column), onTruncated()}
   */
  constructor(container, { dark, fileNames, onLocation, onTruncated = () => {} }) {
    this.onTruncated = onTruncated;
    this.queue = [];
    this.flushScheduled = false;
    this.writing = 0;
    this.linesSinceClear = 0;
    this.truncated = false;
    this.term = new Terminal({
      convertEol: true,
      disableStdin: true,
      cursorBlink: false,
      scrollback: SCROLLBACK,
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

  /** Append one line (written with the next batch); ANSI colour codes in `text` are drawn. */
  writeLine(text, style = '') {
    const body = String(text).replace(/\r?\n$/, '');
    this.queue.push(`${style}${body}${style ? '\x1b[0m' : ''}\r\n`);
    this.linesSinceClear += 1;
    if (this.queue.length > 2 * SCROLLBACK) this.queue.splice(this.queue[0] === RESET ? 1 : 0, SCROLLBACK);
    if (this.linesSinceClear > SCROLLBACK) this.markTruncated();
    this.scheduleFlush();
  }

  scheduleFlush() {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    const flush = () => this.flush();
    // Hidden tabs get no animation frames; a timer keeps their queue short.
    if (document.hidden) setTimeout(flush, 250);
    else requestAnimationFrame(flush);
  }

  flush() {
    this.flushScheduled = false;
    if (this.queue.length === 0) return;
    const chunk = this.queue.join('');
    this.queue = [];
    this.writing += 1;
    this.term.write(chunk, () => {
      this.writing -= 1;
      const buffer = this.term.buffer.active;
      if (buffer.length >= this.term.rows + SCROLLBACK) this.markTruncated(); // wrapped lines filled it up
    });
  }

  markTruncated() {
    if (this.truncated) return;
    this.truncated = true;
    this.onTruncated();
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
    this.queue = [RESET];
    this.linesSinceClear = 0;
    this.truncated = false;
    this.scheduleFlush();
  }

  /** The terminal's text as displayed (wrapped rows joined, colours gone), without trailing empty rows. */
  text() {
    const buffer = this.term.buffer.active;
    const lines = [];
    for (let row = 0; row < buffer.length; row += 1) {
      const line = buffer.getLine(row);
      const next = buffer.getLine(row + 1);
      const text = line.translateToString(!next?.isWrapped);
      if (line.isWrapped && lines.length) lines[lines.length - 1] += text;
      else lines.push(text);
    }
    while (lines.length && lines[lines.length - 1] === '') lines.pop();
    return lines.join('\n');
  }

  /** True when every line handed to the terminal has been drawn. */
  settled() {
    return this.queue.length === 0 && this.writing === 0 && !this.flushScheduled;
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
