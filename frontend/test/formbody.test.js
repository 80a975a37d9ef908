import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buttonBody, formBody } from '../src/lib/formbody.js';

test('empty optional fields are left out so the server applies its default', () => {
  assert.deepEqual(formBody([
    { name: 'product_id', value: 'bot_9', type: 'text', required: true },
    { name: 'password', value: '', type: 'text', required: false },
    { name: 'class', value: 'Period 3', type: 'hidden' },
    { name: 'archived', type: 'checkbox', checked: false },
    { name: '', value: 'ignored', type: 'text' },
  ]), { product_id: 'bot_9', class: 'Period 3', archived: false });
});

test('a required field is sent even when empty, so the server names it', () => {
  assert.deepEqual(formBody([{ name: 'name', value: '', type: 'text', required: true }]), { name: '' });
});

test('a button body merges its fixed JSON with a prompted value', () => {
  assert.deepEqual(buttonBody('{"archived": true}'), { archived: true });
  assert.deepEqual(buttonBody(undefined, 'name', 'Period 4'), { name: 'Period 4' });
  assert.throws(() => buttonBody('{not json'));
});

test('number fields are sent as numbers and dotted names as nested objects', () => {
  assert.deepEqual(formBody([
    { name: 'version', value: '1.4.0', type: 'select-one', required: true },
    { name: 'targets.class_name', value: 'Period 3', type: 'select-one', required: true },
    { name: 'groups.count', value: '3', type: 'number', required: true },
    { name: 'error_threshold_count', value: '', type: 'number', required: false },
    { name: 'error_threshold_percent', value: '25', type: 'number', required: false },
  ]), {
    version: '1.4.0',
    targets: { class_name: 'Period 3' },
    groups: { count: 3 },
    error_threshold_percent: 25,
  });
});

test('a number field that is not a number stays text so the server can name it', () => {
  assert.deepEqual(formBody([{ name: 'silence_s', value: 'soon', type: 'number', required: true }]), { silence_s: 'soon' });
  assert.deepEqual(formBody([{ name: 'silence_s', value: '', type: 'number', required: true }]), { silence_s: '' });
});
