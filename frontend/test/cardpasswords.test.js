import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rememberPasswords, takePasswords } from '../src/lib/cardpasswords.js';

function memoryStorage() {
  const values = new Map();
  return {
    getItem: (key) => (values.has(key) ? values.get(key) : null),
    setItem: (key, value) => values.set(key, String(value)),
    removeItem: (key) => values.delete(key),
    size: () => values.size,
  };
}

test('passwords are kept per class and shown once', () => {
  const storage = memoryStorage();
  rememberPasswords(storage, 'Period 3', { bot_1: '111111' });
  rememberPasswords(storage, 'Period 3', { bot_2: '222222', bot_1: '333333' });
  rememberPasswords(storage, 'Period 4', { bot_9: '999999' });
  assert.deepEqual(takePasswords(storage, 'Period 3'), { bot_1: '333333', bot_2: '222222' });
  assert.deepEqual(takePasswords(storage, 'Period 3'), {});
  assert.deepEqual(takePasswords(storage, 'Period 4'), { bot_9: '999999' });
});

test('nothing is stored for no passwords, and a damaged entry reads as none', () => {
  const storage = memoryStorage();
  rememberPasswords(storage, 'x', {});
  assert.equal(storage.size(), 0);
  storage.setItem('webide.card-passwords.x', '[1,2]');
  assert.deepEqual(takePasswords(storage, 'x'), {});
  storage.setItem('webide.card-passwords.x', '{broken');
  assert.deepEqual(takePasswords(storage, 'x'), {});
});
