/**
 * Turning compiler diagnostics ({file, line, column, severity, message}) into editor positions.
 */

const SEVERITIES = { error: 'error', 'fatal error': 'error', warning: 'warning', note: 'info', info: 'info' };

/** Compiler severities mapped to the three levels the editor draws. */
export function editorSeverity(severity) {
  return SEVERITIES[String(severity || '').toLowerCase()] ?? 'error';
}

/** The sketch file a diagnostic path points at: exact name first, then by base name (build paths are absolute). */
export function matchSketchFile(path, fileNames) {
  if (!path) return null;
  if (fileNames.includes(path)) return path;
  const base = String(path).split(/[\\/]/).pop();
  return fileNames.includes(base) ? base : null;
}

/** Start offsets of every line of `text`, so a 1-based line number maps to a document offset. */
export function lineStarts(text) {
  const starts = [0];
  for (let index = text.indexOf('\n'); index !== -1; index = text.indexOf('\n', index + 1)) starts.push(index + 1);
  return starts;
}

/**
 * Document range {from, to} for a 1-based line and column in `text`. Positions past the end are clamped so a stale
 * diagnostic never throws; the range covers the identifier or token at the column (the whole line when no column).
 */
export function rangeFor(text, line, column) {
  const starts = lineStarts(text);
  const lineIndex = Math.min(Math.max(1, Number(line) || 1), starts.length) - 1;
  const lineFrom = starts[lineIndex];
  const lineTo = lineIndex + 1 < starts.length ? starts[lineIndex + 1] - 1 : text.length;
  const lineText = text.slice(lineFrom, lineTo);
  if (!column || column < 1) return trimmedLineRange(lineText, lineFrom);
  const start = Math.min(column - 1, lineText.length);
  return { from: lineFrom + start, to: lineFrom + start + tokenLength(lineText, start) };
}

function trimmedLineRange(lineText, lineFrom) {
  const indent = lineText.length - lineText.trimStart().length;
  return { from: lineFrom + indent, to: lineFrom + lineText.trimEnd().length };
}

function tokenLength(lineText, start) {
  const word = /^[A-Za-z0-9_]+/.exec(lineText.slice(start));
  if (word) return word[0].length;
  return start < lineText.length ? 1 : 0;
}

/**
 * Group diagnostics by sketch file, converted to editor ranges: {fileName: [{from, to, severity, message}]}.
 * Diagnostics for files outside the sketch (library headers, the core) go under `other` so they can still be listed.
 */
export function diagnosticsByFile(diagnostics, files) {
  const names = files.map((file) => file.name);
  const texts = new Map(files.map((file) => [file.name, file.content]));
  const grouped = { other: [] };
  for (const name of names) grouped[name] = [];
  for (const diagnostic of diagnostics || []) {
    const name = matchSketchFile(diagnostic.file, names);
    const severity = editorSeverity(diagnostic.severity);
    if (name === null) {
      grouped.other.push({ ...diagnostic, severity });
      continue;
    }
    const range = rangeFor(texts.get(name), diagnostic.line, diagnostic.column);
    grouped[name].push({ ...range, severity, message: diagnostic.message, line: diagnostic.line });
  }
  return grouped;
}

/**
 * Which revision's diagnostics the editor may draw. A build's diagnostics name lines of the revision it compiled;
 * drawn on another revision's text (a teacher's view that has not caught up with the student's save yet, or one
 * that moved on) they would mark the wrong lines. So they are drawn only while the editor shows their revision,
 * and kept waiting while the editor is behind.
 *
 * The state is `{drawn, waiting}`: the revision whose diagnostics are drawn (null: none), and a newer revision's
 * diagnostics `{revision, diagnostics}` waiting for the editor to show it (null: none). Each step returns the next
 * state and `draw`: the diagnostics to draw now (`[]` clears the markers), or null to leave the editor as it is.
 */
export const NO_DIAGNOSTICS = Object.freeze({ drawn: null, waiting: null });

/** A build's result for `revision` arrived while the editor shows revision `shown` (either may be unknown). */
export function diagnosticsArrived(state, revision, diagnostics, shown) {
  if (unknown(revision) || unknown(shown) || revision === shown) {
    const drawn = unknown(revision) ? shown ?? null : revision;
    return { state: { drawn, waiting: newerWaiting(state.waiting, drawn) }, draw: diagnostics };
  }
  if (revision > shown) {
    // the editor is behind: keep what it shows (its own revision's markers) and wait for this revision
    const waiting = state.waiting && state.waiting.revision > revision ? state.waiting : { revision, diagnostics };
    return { state: { drawn: state.drawn, waiting }, draw: null };
  }
  // a result for an older revision than the one shown: never drawn; markers not about the shown revision go
  return state.drawn === shown ? { state, draw: null } : { state: { ...state, drawn: null }, draw: [] };
}

/** The editor now shows `revision` (its text was replaced by that revision's files). */
export function revisionDisplayed(state, revision) {
  const { waiting } = state;
  if (waiting && waiting.revision === revision) {
    return { state: { drawn: revision, waiting: null }, draw: waiting.diagnostics };
  }
  const next = { drawn: state.drawn === revision ? revision : null, waiting: newerWaiting(waiting, revision) };
  return { state: next, draw: state.drawn === revision ? null : [] };
}

function unknown(revision) {
  return revision === undefined || revision === null;
}

function newerWaiting(waiting, revision) {
  return waiting && (unknown(revision) || waiting.revision > revision) ? waiting : null;
}
