import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rangeFor, diagnosticsByFile, matchSketchFile, editorSeverity } from '../src/lib/diagnostics.js';

const text = 'void setup() {\n  pinMode(LED, OUTPUT)\n}\n';

test('a line and column map to the token under the column', () => {
  const { from, to } = rangeFor(text, 2, 3);
  assert.equal(text.slice(from, to), 'pinMode');
});

test('a column on punctuation marks one character', () => {
  const { from, to } = rangeFor(text, 2, 22);
  assert.equal(text.slice(from, to), ')');
});

test('no column marks the line without its indentation', () => {
  const { from, to } = rangeFor(text, 2, 0);
  assert.equal(text.slice(from, to), 'pinMode(LED, OUTPUT)');
});

test('positions past the end are clamped instead of throwing', () => {
  const range = rangeFor(text, 99, 99);
  assert.ok(range.from <= text.length && range.to <= text.length && range.from <= range.to);
  const past = rangeFor(text, 2, 500);
  assert.equal(past.from, text.indexOf('\n', 15));
});

test('absolute build paths match sketch files by base name', () => {
  assert.equal(matchSketchFile('/tmp/build/sketch/Blink.ino', ['Blink.ino', 'a.h']), 'Blink.ino');
  assert.equal(matchSketchFile('a.h', ['Blink.ino', 'a.h']), 'a.h');
  assert.equal(matchSketchFile('/usr/share/arduino/Arduino.h', ['Blink.ino']), null);
});

test('diagnostics are grouped per file with editor severities', () => {
  const files = [{ name: 'Blink.ino', content: text }, { name: 'a.h', content: 'int x\n' }];
  const grouped = diagnosticsByFile([
    { file: 'Blink.ino', line: 2, column: 23, severity: 'error', message: "expected ';'" },
    { file: '/x/a.h', line: 1, column: 5, severity: 'warning', message: 'unused' },
    { file: 'Arduino.h', line: 10, column: 1, severity: 'note', message: 'declared here' },
  ], files);
  assert.equal(grouped['Blink.ino'].length, 1);
  assert.equal(grouped['Blink.ino'][0].severity, 'error');
  assert.equal(text.slice(grouped['Blink.ino'][0].from - 1, grouped['Blink.ino'][0].from), ')');
  assert.equal(grouped['a.h'][0].severity, 'warning');
  assert.equal(files[1].content.slice(grouped['a.h'][0].from, grouped['a.h'][0].to), 'x');
  assert.deepEqual(grouped.other.map((d) => [d.file, d.severity]), [['Arduino.h', 'info']]);
});

test('unknown severities are drawn as errors', () => {
  assert.equal(editorSeverity('fatal error'), 'error');
  assert.equal(editorSeverity(undefined), 'error');
  assert.equal(editorSeverity('Warning'), 'warning');
});
