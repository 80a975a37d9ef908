import './shared-rules.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileNameProblem, protectedFileProblem, sortTabNames, extensionOf } from '../src/lib/filenames.js';

test('accepts every extension the compiler builds', () => {
  for (const name of ['motor.h', 'motor.hpp', 'motor.c', 'motor.cpp', 'start.S', 'other.ino', 'a-b_c.1.cpp']) {
    assert.equal(fileNameProblem(name, ['Blink.ino']), null, name);
  }
});

const refused = [
  ['', /Enter a file name/],
  ['.hidden.h', /must not start with a dot/],
  ['dir/x.h', /path separator/],
  ['dir\\x.h', /path separator/],
  ['sp ace.h', /may only use/],
  ['ümlaut.h', /may only use/],
  ['notes.txt', /unsupported extension/],
  ['start.s', /unsupported extension/],
  ['Makefile', /unsupported extension/],
  ['firmware.bin', /unsupported extension/],
  ['build_opt.h', /not allowed in a sketch/],
  ['BUILD_OPT.H', /not allowed in a sketch/],
  ['partitions.csv', /not allowed in a sketch/],
];
for (const [name, pattern] of refused) {
  test(`refuses ${JSON.stringify(name)}`, () => {
    assert.match(fileNameProblem(name, []), pattern);
  });
}

test('refuses a name that differs from an existing tab only by case', () => {
  assert.match(fileNameProblem('Motor.h', ['Blink.ino', 'motor.h']), /"motor.h" already exists/);
});

test('main sketch file is protected, other tabs are not', () => {
  assert.match(protectedFileProblem('Blink.ino', 'Blink'), /cannot be deleted or renamed/);
  assert.equal(protectedFileProblem('helper.ino', 'Blink'), null);
});

test('tabs are ordered main first then alphabetically', () => {
  assert.deepEqual(sortTabNames(['b.h', 'Blink.ino', 'a.cpp'], 'Blink'), ['Blink.ino', 'a.cpp', 'b.h']);
});

test('extension of names without a dot or with a leading dot is empty', () => {
  assert.equal(extensionOf('Makefile'), '');
  assert.equal(extensionOf('.h'), '');
  assert.equal(extensionOf('a.b.cpp'), '.cpp');
});

test('an example main file is renamed to the sketch main file', async () => {
  const { adaptExampleFiles } = await import('../src/lib/filenames.js');
  const example = [{ name: 'Blink.ino', content: 'x' }, { name: 'pins.h', content: 'y' }];
  assert.deepEqual(adaptExampleFiles(example, 'bot_001').map((f) => f.name), ['bot_001.ino', 'pins.h']);
  assert.deepEqual(adaptExampleFiles([{ name: 'bot_001.ino', content: 'x' }], 'bot_001').map((f) => f.name), ['bot_001.ino']);
  const several = [{ name: 'b.ino', content: '' }, { name: 'a.ino', content: '' }];
  assert.deepEqual(adaptExampleFiles(several, 'Main').map((f) => f.name), ['b.ino', 'Main.ino']);
});
