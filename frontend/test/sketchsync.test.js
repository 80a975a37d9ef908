import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SketchSync } from '../src/lib/sketchsync.js';
import { DraftStore } from '../src/lib/drafts.js';

class MemoryStorage {
  constructor() { this.items = new Map(); }
  getItem(key) { return this.items.has(key) ? this.items.get(key) : null; }
  setItem(key, value) { this.items.set(key, String(value)); }
  removeItem(key) { this.items.delete(key); }
}

/** A sketch server holding revisions, answering like the sketch API. */
class FakeServer {
  constructor(files) {
    this.revision = 1;
    this.files = files;
    this.requests = [];
    this.failNext = null;
  }

  async put(payload) {
    this.requests.push(payload);
    if (this.failNext) {
      const failure = this.failNext;
      this.failNext = null;
      return failure;
    }
    if (payload.base_revision !== this.revision) {
      return { status: 409, data: { success: false, error: 'conflict', current: { files: this.files, revision: this.revision } } };
    }
    this.revision += 1;
    this.files = payload.files;
    return { status: 200, data: { success: true, revision: this.revision } };
  }
}

function setup(initial = 'void setup() {}\n') {
  const server = new FakeServer([{ name: 'Blink.ino', content: initial }]);
  let editorFiles = server.files;
  const timers = [];
  const states = [];
  const conflicts = [];
  const storage = new MemoryStorage();
  const drafts = new DraftStore(storage, 'bot_1');
  const sync = new SketchSync({
    put: (payload) => server.put(payload),
    getFiles: () => editorFiles,
    drafts,
    onState: (state, detail) => states.push([state, detail]),
    onConflict: (current, mine) => conflicts.push({ current, mine }),
    schedule: (fn, ms) => { timers.push({ fn, ms }); return timers.length - 1; },
    cancel: (handle) => { timers[handle] = null; },
  });
  sync.adopt(server.revision, server.files);
  const type = (content) => {
    editorFiles = [{ name: 'Blink.ino', content }];
    sync.noteChange();
  };
  const runTimers = async () => {
    const pending = timers.splice(0).filter(Boolean);
    for (const timer of pending) await timer.fn();
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { server, sync, type, runTimers, timers, states, conflicts, drafts };
}

test('typing keeps a draft and autosaves once after the pause', async () => {
  const { server, sync, type, runTimers, timers, drafts } = setup();
  type('void setup() { a(); }\n');
  type('void setup() { ab(); }\n');
  assert.equal(sync.state, 'dirty');
  assert.equal(drafts.read().files[0].content, 'void setup() { ab(); }\n');
  assert.equal(timers.filter(Boolean).length, 1, 'each keystroke restarts the single autosave timer');
  assert.equal(timers.filter(Boolean)[0].ms, 1500);
  await runTimers();
  assert.equal(server.requests.length, 1);
  assert.equal(server.requests[0].explicit, false);
  assert.equal(server.files[0].content, 'void setup() { ab(); }\n');
  assert.equal(sync.state, 'saved');
  assert.equal(drafts.read(), null, 'draft is dropped once the server confirmed');
});

test('explicit save is sent even without changes and carries the base revision', async () => {
  const { server, sync } = setup();
  const result = await sync.save({ explicit: true });
  assert.equal(result.ok, true);
  assert.deepEqual(server.requests.map((r) => [r.base_revision, r.explicit]), [[1, true]]);
  assert.equal(sync.revision, 2);
});

test('an autosave with nothing changed sends nothing', async () => {
  const { server, sync } = setup();
  const result = await sync.save();
  assert.equal(result.unchanged, true);
  assert.equal(server.requests.length, 0);
});

test('a stale base revision becomes a conflict and autosave stops until resolved', async () => {
  const { server, sync, type, runTimers, conflicts, drafts } = setup();
  server.revision = 5;
  server.files = [{ name: 'Blink.ino', content: 'their text\n' }];
  type('my text\n');
  await runTimers();
  assert.equal(sync.state, 'conflict');
  assert.equal(conflicts.length, 1);
  assert.equal(conflicts[0].current.revision, 5);
  assert.equal(drafts.read().files[0].content, 'my text\n', 'my text stays in local storage');
  type('my text, more\n');
  await runTimers();
  assert.equal(server.requests.length, 1, 'no autosave while the conflict is open');
  const kept = await sync.keepMine();
  assert.equal(kept.ok, true);
  assert.equal(server.requests[1].base_revision, 5);
  assert.equal(server.files[0].content, 'my text, more\n');
  assert.equal(sync.state, 'saved');
});

test('taking theirs adopts the server revision', async () => {
  const { server, sync, type, runTimers, drafts } = setup();
  server.revision = 7;
  server.files = [{ name: 'Blink.ino', content: 'their text\n' }];
  type('my text\n');
  await runTimers();
  type('their text\n');
  sync.takeTheirs();
  assert.equal(sync.revision, 7);
  assert.equal(sync.state, 'saved');
  assert.equal(drafts.read(), null);
});

test('a server outage keeps the text and retries later', async () => {
  const { server, sync, type, runTimers, timers, drafts } = setup();
  server.failNext = { status: 0, data: { error: 'Failed to fetch' } };
  type('offline edit\n');
  await runTimers();
  assert.equal(sync.state, 'error');
  assert.equal(drafts.read().files[0].content, 'offline edit\n');
  const retry = timers.filter(Boolean);
  assert.equal(retry.length, 1);
  assert.ok(retry[0].ms > 1500);
  await runTimers();
  assert.equal(sync.state, 'saved');
  assert.equal(server.files[0].content, 'offline edit\n');
});

test('a too-large sketch is reported and not retried by itself', async () => {
  const { server, sync, type, runTimers, timers, states } = setup();
  server.failNext = { status: 413, data: { success: false, error: 'Sketch too large' } };
  type('huge\n');
  await runTimers();
  assert.equal(sync.state, 'error');
  assert.deepEqual(states.at(-1), ['error', 'Sketch too large']);
  assert.equal(timers.filter(Boolean).length, 0);
});

test('typing during a save triggers a follow-up save based on the new revision', async () => {
  const { server, sync, type } = setup();
  let release;
  const slowPut = server.put.bind(server);
  sync.put = (payload) => new Promise((resolve) => { release = () => resolve(slowPut(payload)); });
  type('first\n');
  const first = sync.save({ explicit: true });
  type('second\n');
  const queued = sync.save({ explicit: true });
  sync.put = (payload) => slowPut(payload);
  release();
  assert.equal((await first).ok, true);
  assert.equal((await queued).ok, true);
  assert.deepEqual(server.requests.map((r) => [r.base_revision, r.files[0].content]), [[1, 'first\n'], [2, 'second\n']]);
  assert.equal(sync.state, 'saved');
});

test('loading the page sketch leaves a stored draft in place for the restore offer', () => {
  const storage = new MemoryStorage();
  const drafts = new DraftStore(storage, 'bot_1');
  drafts.write([{ name: 'Blink.ino', content: 'unsaved\n' }], 3);
  const files = [{ name: 'Blink.ino', content: 'saved\n' }];
  const sync = new SketchSync({
    put: async () => ({ status: 500, data: {} }), getFiles: () => files, drafts,
    onState: () => {}, onConflict: () => {}, schedule: () => 0, cancel: () => {},
  });
  sync.load(3, files);
  assert.equal(sync.state, 'saved');
  assert.equal(drafts.read().files[0].content, 'unsaved\n');
  sync.adopt(3, files);
  assert.equal(drafts.read(), null, 'adopting a server sketch equal to the editor drops the draft');
});
