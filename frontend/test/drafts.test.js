import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DraftStore, restoreDecision, draftKey } from '../src/lib/drafts.js';

class MemoryStorage {
  constructor() { this.items = new Map(); }
  getItem(key) { return this.items.has(key) ? this.items.get(key) : null; }
  setItem(key, value) { this.items.set(key, String(value)); }
  removeItem(key) { this.items.delete(key); }
}

class FullStorage extends MemoryStorage {
  setItem() { throw new Error('QuotaExceededError'); }
}

const files = [{ name: 'Blink.ino', content: 'void loop() {}\n' }];

test('drafts are kept per bot and survive a new store object (a reload)', () => {
  const storage = new MemoryStorage();
  assert.equal(new DraftStore(storage, 'bot_1', () => 1000).write(files, 4), true);
  const reloaded = new DraftStore(storage, 'bot_1').read();
  assert.deepEqual(reloaded, { files, baseRevision: 4, savedAt: 1000 });
  assert.equal(new DraftStore(storage, 'bot_2').read(), null);
  assert.ok(storage.items.has(draftKey('bot_1')));
});

test('clearing removes the draft', () => {
  const storage = new MemoryStorage();
  const store = new DraftStore(storage, 'bot_1');
  store.write(files, 1);
  store.clear();
  assert.equal(store.read(), null);
});

test('corrupt or foreign data is ignored', () => {
  const storage = new MemoryStorage();
  const store = new DraftStore(storage, 'bot_1');
  for (const raw of ['{not json', '{"files": "x", "baseRevision": 1}', '{"files": [], "baseRevision": "1"}']) {
    storage.setItem(draftKey('bot_1'), raw);
    assert.equal(store.read(), null, raw);
  }
});

test('a full storage reports failure instead of throwing', () => {
  assert.equal(new DraftStore(new FullStorage(), 'bot_1').write(files, 1), false);
});

test('restore decision compares the draft with the server sketch', () => {
  const edited = [{ name: 'Blink.ino', content: 'void loop() { step(); }\n' }];
  assert.equal(restoreDecision(null, { files, revision: 3 }), 'none');
  assert.equal(restoreDecision({ files, baseRevision: 2 }, { files, revision: 3 }), 'discard');
  assert.equal(restoreDecision({ files: edited, baseRevision: 3 }, { files, revision: 3 }), 'offer');
  assert.equal(restoreDecision({ files: edited, baseRevision: 2 }, { files, revision: 3 }), 'offer-stale');
});
