/**
 * Line diffs for the conflict and history dialogs (Myers' O(ND) algorithm), plus unified hunks for display.
 */

/** Split text into lines without the trailing empty line a final newline would produce. */
export function splitLines(text) {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/**
 * Diff two texts line by line. Returns operations in order: {op: ' ' | '-' | '+', text, oldLine, newLine},
 * where '-' lines exist only in `before` and '+' lines only in `after` (line numbers are 1-based, null if absent).
 */
export function diffLines(before, after) {
  const a = splitLines(before);
  const b = splitLines(after);
  let prefix = 0;
  while (prefix < a.length && prefix < b.length && a[prefix] === b[prefix]) prefix += 1;
  let suffix = 0;
  while (suffix < a.length - prefix && suffix < b.length - prefix
    && a[a.length - 1 - suffix] === b[b.length - 1 - suffix]) suffix += 1;
  const ops = [];
  for (let i = 0; i < prefix; i += 1) ops.push({ op: ' ', text: a[i], oldLine: i + 1, newLine: i + 1 });
  const middleA = a.slice(prefix, a.length - suffix);
  const middleB = b.slice(prefix, b.length - suffix);
  for (const entry of myersOps(middleA, middleB)) {
    ops.push({
      ...entry,
      oldLine: entry.oldLine === null ? null : entry.oldLine + prefix,
      newLine: entry.newLine === null ? null : entry.newLine + prefix,
    });
  }
  for (let i = suffix; i > 0; i -= 1) {
    ops.push({ op: ' ', text: a[a.length - i], oldLine: a.length - i + 1, newLine: b.length - i + 1 });
  }
  return ops;
}

function myersOps(a, b) {
  if (a.length === 0 && b.length === 0) return [];
  return backtrack(shortestEditTrace(a, b), a, b);
}

/*
 * Snapshots only keep the diagonals reachable at each step (k in -d-1..d+1), so memory grows with the square of
 * the number of edits rather than with edits times file length.
 */
function snapshot(frontier, offset, d) {
  return frontier.slice(offset - d - 1, offset + d + 2);
}

function readSnapshot(saved, d, k) {
  return saved[k + d + 1];
}

function shortestEditTrace(a, b) {
  const max = a.length + b.length;
  const offset = max + 1;
  const frontier = new Int32Array(2 * max + 3);
  const trace = [];
  for (let d = 0; d <= max; d += 1) {
    trace.push(snapshot(frontier, offset, d));
    for (let k = -d; k <= d; k += 2) {
      const goDown = k === -d || (k !== d && frontier[offset + k - 1] < frontier[offset + k + 1]);
      let x = goDown ? frontier[offset + k + 1] : frontier[offset + k - 1] + 1;
      let y = x - k;
      while (x < a.length && y < b.length && a[x] === b[y]) {
        x += 1;
        y += 1;
      }
      frontier[offset + k] = x;
      if (x >= a.length && y >= b.length) return trace;
    }
  }
  return trace;
}

function backtrack(trace, a, b) {
  const ops = [];
  let x = a.length;
  let y = b.length;
  for (let d = trace.length - 1; d >= 0; d -= 1) {
    const saved = trace[d];
    const k = x - y;
    const goDown = k === -d
      || (k !== d && readSnapshot(saved, d, k - 1) < readSnapshot(saved, d, k + 1));
    const prevK = goDown ? k + 1 : k - 1;
    const prevX = d === 0 ? 0 : readSnapshot(saved, d, prevK);
    const prevY = d === 0 ? 0 : prevX - prevK;
    while (x > prevX && y > prevY) {
      x -= 1;
      y -= 1;
      ops.push({ op: ' ', text: a[x], oldLine: x + 1, newLine: y + 1 });
    }
    if (d === 0) break;
    if (x === prevX) {
      y -= 1;
      ops.push({ op: '+', text: b[y], oldLine: null, newLine: y + 1 });
    } else {
      x -= 1;
      ops.push({ op: '-', text: a[x], oldLine: x + 1, newLine: null });
    }
  }
  return ops.reverse();
}

/** True when the diff contains at least one added or removed line. */
export function hasChanges(ops) {
  return ops.some((entry) => entry.op !== ' ');
}

/**
 * Group diff operations into hunks with `context` unchanged lines around each change, like `diff -u`.
 * Each hunk is {oldStart, oldCount, newStart, newCount, lines: ops}.
 */
export function unifiedHunks(ops, context = 3) {
  const changed = ops.map((entry, index) => (entry.op === ' ' ? -1 : index)).filter((index) => index >= 0);
  if (changed.length === 0) return [];
  const ranges = [];
  for (const index of changed) {
    const start = Math.max(0, index - context);
    const end = Math.min(ops.length - 1, index + context);
    const last = ranges[ranges.length - 1];
    if (last && start <= last.end + 1) last.end = end;
    else ranges.push({ start, end });
  }
  return ranges.map(({ start, end }) => hunkFor(ops, start, end));
}

function hunkFor(ops, start, end) {
  const lines = ops.slice(start, end + 1);
  return {
    oldStart: firstLineNumber(ops, start, 'oldLine'),
    oldCount: lines.filter((entry) => entry.op !== '+').length,
    newStart: firstLineNumber(ops, start, 'newLine'),
    newCount: lines.filter((entry) => entry.op !== '-').length,
    lines,
  };
}

function firstLineNumber(ops, start, key) {
  for (let index = start; index < ops.length; index += 1) {
    if (ops[index][key] !== null) return ops[index][key];
  }
  for (let index = start - 1; index >= 0; index -= 1) {
    if (ops[index][key] !== null) return ops[index][key] + 1;
  }
  return 1;
}

/**
 * Compare two sets of sketch files ([{name, content}]). Returns one entry per file whose content differs,
 * in name order: {name, status: 'added' | 'removed' | 'changed', hunks}.
 */
export function diffFileSets(beforeFiles, afterFiles, context = 3) {
  const before = new Map(beforeFiles.map((file) => [file.name, file.content]));
  const after = new Map(afterFiles.map((file) => [file.name, file.content]));
  const names = [...new Set([...before.keys(), ...after.keys()])].sort();
  const result = [];
  for (const name of names) {
    const oldText = before.get(name);
    const newText = after.get(name);
    if (oldText === newText) continue;
    const status = oldText === undefined ? 'added' : newText === undefined ? 'removed' : 'changed';
    const ops = diffLines(oldText ?? '', newText ?? '');
    result.push({ name, status, hunks: unifiedHunks(ops, context) });
  }
  return result;
}

/** True when two file sets have the same names and contents (order does not matter). */
export function sameFiles(first, second) {
  if (first.length !== second.length) return false;
  const contents = new Map(first.map((file) => [file.name, file.content]));
  return second.every((file) => contents.get(file.name) === file.content);
}
