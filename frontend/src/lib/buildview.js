/**
 * What the build panel shows beyond the raw lines: compile and flash durations measured between server
 * timestamps (so a reload shows the same numbers), and verdict lines that the log has not printed already.
 */
import { formatElapsed } from './format.js';

const FLASH_ENDS = new Set(['running', 'failed', 'rolled_back']);

/** Start and end (server ms) of the compile and of the flash that follows an Upload. */
export class PhaseTimes {
  constructor() {
    this.compile = { start: null, end: null };
    this.flash = { start: null, end: null };
  }

  /** A build event: `progress` in_progress starts the compile clock, `result` stops it. */
  noteBuild(event) {
    if (!Number.isFinite(event.ts)) return;
    if (event.type === 'progress' && event.status === 'in_progress' && this.compile.start === null) {
      this.compile.start = event.ts;
    } else if (event.type === 'result') {
      this.compile.start ??= event.ts;
      this.compile.end = event.ts;
    }
  }

  /** A `flash` event: a new deployment resets the flash clock, the first download starts it, a final state ends it. */
  noteFlash(event) {
    if (!Number.isFinite(event.ts)) return;
    if (event.state === 'waiting_for_button') {
      this.flash = { start: null, end: null };
    } else if (event.state === 'downloading') {
      this.flash.start ??= event.ts;
    } else if (FLASH_ENDS.has(event.state) && this.flash.start !== null && this.flash.end === null) {
      this.flash.end = event.ts;
    }
  }

  /** "compile 0:07" or "compile 0:07 · flash 0:12"; a running phase is measured up to `now` (server ms). */
  text(now) {
    const span = ({ start, end }) => formatElapsed((end ?? now) - start);
    if (this.compile.start === null) return '';
    const compile = `compile ${span(this.compile)}`;
    return this.flash.start === null ? compile : `${compile} · flash ${span(this.flash)}`;
  }

  running() {
    return (this.compile.start !== null && this.compile.end === null)
      || (this.flash.start !== null && this.flash.end === null);
  }
}

/** The lines of a verdict (e.g. the size summary) that the build's own last lines have not shown already. */
export function unprintedLines(verdict, recentLines) {
  const shown = new Set(recentLines.map((line) => line.trim()));
  return String(verdict).split('\n').filter((line) => line.trim() && !shown.has(line.trim()));
}

/**
 * What a successful build tells the student. An Upload on a board that updates over the air waits for the button
 * press; on one that cannot (AVR), the status says so plainly and `firmware` is the download offered instead.
 * @returns {{status: string, note: string, firmware: {url: string, label: string} | null}}
 */
export function successVerdict(result, deploy, headline) {
  if (!deploy) return { status: `Done compiling. ${headline}`, note: '', firmware: null };
  if (result.over_the_air !== false) {
    return { status: `${headline} — press the button on your bot`, note: '', firmware: null };
  }
  const extension = /\.[a-z0-9]+$/i.exec(result.firmware_file ?? '')?.[0];
  const firmware = result.firmware_url
    ? { url: result.firmware_url, label: extension ? `Download firmware (${extension})` : 'Download firmware' }
    : null;
  return {
    status: `This board cannot update over the air: download the firmware and flash it over USB — ${headline}`,
    note: result.message || 'This board cannot update over the air: flash the compiled firmware over USB',
    firmware,
  };
}
