import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diffLines, unifiedHunks, diffFileSets, sameFiles, hasChanges, splitLines } from '../src/lib/diff.js';

function seededRandom(seed) {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

function lcsLength(a, b) {
  const table = Array.from({ length: a.length + 1 }, () => new Array(b.length + 1).fill(0));
  for (let i = 1; i <= a.length; i += 1) {
    for (let j = 1; j <= b.length; j += 1) {
      table[i][j] = a[i - 1] === b[j - 1] ? table[i - 1][j - 1] + 1 : Math.max(table[i - 1][j], table[i][j - 1]);
    }
  }
  return table[a.length][b.length];
}

test('diff of random texts rebuilds both sides and is minimal', () => {
  const random = seededRandom(42);
  const text = () => Array.from({ length: Math.floor(random() * 14) }, () => 'xyz'[Math.floor(random() * 3)]).join('\n');
  for (let round = 0; round < 500; round += 1) {
    const before = text();
    const after = text();
    const ops = diffLines(before, after);
    assert.equal(ops.filter((o) => o.op !== '+').map((o) => o.text).join('\n'), before);
    assert.equal(ops.filter((o) => o.op !== '-').map((o) => o.text).join('\n'), after);
    const a = splitLines(before);
    const b = splitLines(after);
    const edits = ops.filter((o) => o.op !== ' ').length;
    assert.equal(edits, a.length + b.length - 2 * lcsLength(a, b), `${JSON.stringify(before)} → ${JSON.stringify(after)}`);
    for (const o of ops) {
      if (o.oldLine !== null) assert.equal(a[o.oldLine - 1], o.text);
      if (o.newLine !== null) assert.equal(b[o.newLine - 1], o.text);
    }
  }
});

test('one changed line in a long file gives one hunk with context', () => {
  const lines = Array.from({ length: 40 }, (_, i) => `line ${i + 1}`);
  const changed = [...lines];
  changed[19] = 'line twenty';
  const hunks = unifiedHunks(diffLines(lines.join('\n'), changed.join('\n')), 3);
  assert.equal(hunks.length, 1);
  assert.deepEqual([hunks[0].oldStart, hunks[0].oldCount, hunks[0].newStart, hunks[0].newCount], [17, 7, 17, 7]);
  assert.deepEqual(hunks[0].lines.filter((l) => l.op !== ' ').map((l) => l.op + l.text), ['-line 20', '+line twenty']);
});

test('distant changes give separate hunks, close ones merge', () => {
  const lines = Array.from({ length: 30 }, (_, i) => `l${i}`);
  const far = lines.map((l, i) => (i === 2 || i === 25 ? `${l}!` : l));
  assert.equal(unifiedHunks(diffLines(lines.join('\n'), far.join('\n'))).length, 2);
  const near = lines.map((l, i) => (i === 2 || i === 6 ? `${l}!` : l));
  assert.equal(unifiedHunks(diffLines(lines.join('\n'), near.join('\n'))).length, 1);
});

test('identical texts have no changes and no hunks', () => {
  const ops = diffLines('a\nb\n', 'a\nb\n');
  assert.equal(hasChanges(ops), false);
  assert.deepEqual(unifiedHunks(ops), []);
});

test('file sets report added, removed and changed files only', () => {
  const mine = [{ name: 'Blink.ino', content: 'void setup(){}\n' }, { name: 'a.h', content: '#pragma once\n' }];
  const theirs = [{ name: 'Blink.ino', content: 'void setup(){ }\n' }, { name: 'b.h', content: 'int b;\n' }];
  const result = diffFileSets(mine, theirs);
  assert.deepEqual(result.map((f) => [f.name, f.status]), [['Blink.ino', 'changed'], ['a.h', 'removed'], ['b.h', 'added']]);
});

test('sameFiles ignores order but not content or names', () => {
  const a = [{ name: 'x.h', content: '1' }, { name: 'y.h', content: '2' }];
  assert.equal(sameFiles(a, [a[1], a[0]]), true);
  assert.equal(sameFiles(a, [{ name: 'x.h', content: '1' }, { name: 'y.h', content: '3' }]), false);
  assert.equal(sameFiles(a, [{ name: 'x.h', content: '1' }, { name: 'z.h', content: '2' }]), false);
  assert.equal(sameFiles(a, [a[0]]), false);
});
