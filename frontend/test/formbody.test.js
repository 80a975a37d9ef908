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
