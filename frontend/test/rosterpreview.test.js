import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describePreview, generatedPasswords } from '../src/lib/rosterpreview.js';

const row = (line, productId, ok, errors = [], passwordGiven = true) => ({
  line, product_id: productId, name: `Student ${line}`, class_name: null, password_given: passwordGiven, ok, errors,
});

test('a file with a bad row cannot be imported and the row says what is wrong', () => {
  const preview = describePreview({
    valid: 2, invalid: 1,
    rows: [row(2, 'bot_1', true), row(3, 'bad id!', false, ['invalid product ID', 'password too short']), row(4, 'bot_3', true, [], false)],
  });
  assert.equal(preview.canImport, false);
  assert.match(preview.summary, /^1 of 3 rows has errors/);
  assert.match(preview.summary, /Nothing will be imported/);
  assert.deepEqual(preview.rows.map((r) => [r.line, r.ok, r.problems]), [
    [2, true, ''], [3, false, 'invalid product ID; password too short'], [4, true, ''],
  ]);
  assert.deepEqual(preview.rows.map((r) => r.password), ['given', 'given', 'generated']);
});

test('a file whose every row is right can be imported', () => {
  const preview = describePreview({ valid: 1, invalid: 0, rows: [row(2, 'bot_1', true)] });
  assert.equal(preview.canImport, true);
  assert.equal(preview.summary, '1 row, all right: ready to import.');
});

test('an empty preview imports nothing', () => {
  assert.equal(describePreview({ rows: [] }).canImport, false);
  assert.equal(describePreview(null).canImport, false);
});

test('only generated passwords are collected for the cards', () => {
  assert.deepEqual(generatedPasswords([
    { product_id: 'bot_1', password: '123456', device_token: 't1' },
    { product_id: 'bot_2', password: null, device_token: 't2' },
  ]), { bot_1: '123456' });
});
