import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findLocations } from '../src/lib/termlinks.js';

const files = ['Blink.ino', 'motor.h', 'motor.cpp'];

test('gcc error lines with absolute paths link to the sketch file', () => {
  const line = "/tmp/b/sketch/Blink.ino:12:5: error: 'foo' was not declared in this scope";
  const [found] = findLocations(line, files);
  assert.deepEqual({ ...found }, { start: 0, end: line.indexOf(': error'), file: 'Blink.ino', line: 12, column: 5 });
});

test('locations without a column and several per line are found', () => {
  const line = 'In file included from motor.cpp:3, from Blink.ino:1:';
  const found = findLocations(line, files);
  assert.deepEqual(found.map((f) => [f.file, f.line, f.column]), [['motor.cpp', 3, 0], ['Blink.ino', 1, 0]]);
  assert.equal(line.slice(found[0].start, found[0].end), 'motor.cpp:3');
});

test('files outside the sketch and look-alikes are not linked', () => {
  assert.deepEqual(findLocations('/usr/share/arduino/hardware/Arduino.h:20:3: note: here', files), []);
  assert.deepEqual(findLocations('Sketch uses 924 bytes (2%) of program storage space.', files), []);
  assert.deepEqual(findLocations('motor.hx:3:1', files), []);
});

test('a longer extension is not cut short to a shorter one', () => {
  const [found] = findLocations('motor.cpp:7:2: warning: unused', files);
  assert.equal(found.file, 'motor.cpp');
});

test('colour codes are removed from gcc output', async () => {
  const { stripAnsi } = await import('../src/lib/ansi.js');
  const coloured = '\x1b[01m\x1b[KBlink.ino:3:1:\x1b[m\x1b[K \x1b[01;31m\x1b[Kerror: \x1b[m\x1b[Kexpected';
  assert.equal(stripAnsi(coloured), 'Blink.ino:3:1: error: expected');
  assert.deepEqual(findLocations(stripAnsi(coloured), files).map((f) => f.line), [3]);
});
