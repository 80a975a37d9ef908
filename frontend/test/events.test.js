import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventSequencer } from '../src/lib/events.js';

/** A sequencer with a hand-driven clock: `fire()` runs the pending gap timer. */
function harness(options = {}) {
  const applied = [];
  const fetches = [];
  let timer = null;
  const sequencer = new EventSequencer({
    apply: (event) => applied.push(event.seq),
    fetchAfter: (since) => fetches.push(since),
    timers: {
      set: (callback) => { timer = callback; return 1; },
      clear: () => { timer = null; },
    },
    ...options,
  });
  return {
    sequencer,
    applied,
    fetches,
    pending: () => timer !== null,
    fire: () => { const callback = timer; timer = null; callback?.(); },
  };
}

const events = (...seqs) => seqs.map((seq) => ({ seq, type: 'line', text: `line ${seq}` }));
const ack = (after, seqs, extra = {}) => ({ success: true, after, head: seqs.at(-1) ?? after, events: events(...seqs), more: false, reset: false, ...extra });

test('live events out of order are held and applied in number order, duplicates once', () => {
  const { sequencer, applied } = harness();
  sequencer.joinPayload('bot_1');
  sequencer.acceptJoin(ack(0, []));
  for (const event of events(2, 1, 3, 2, 5, 4, 1, 5)) sequencer.receive(event);
  assert.deepEqual(applied, [1, 2, 3, 4, 5]);
  assert.equal(sequencer.duplicates, 3);
  assert.equal(sequencer.cursor, 5);
});

test('live events that overtake the join answer wait for it; the overlap is dropped', () => {
  const { sequencer, applied, fetches } = harness();
  assert.deepEqual(sequencer.joinPayload('bot_1'), { product_id: 'bot_1', since: 0 });
  // A fresh page: the room sends 101 and 102 live before the answer replays the newest build, 95…101.
  sequencer.receive(...events(101));
  sequencer.receive(...events(102));
  assert.deepEqual(applied, []);
  sequencer.acceptJoin(ack(94, [95, 96, 97, 98, 99, 100, 101]));
  assert.deepEqual(applied, [95, 96, 97, 98, 99, 100, 101, 102]);
  assert.deepEqual(fetches, [], 'no gap fetch while the join was in flight');
});

test('a reconnect resumes from the cursor and applies only what was missed', () => {
  const { sequencer, applied } = harness();
  sequencer.joinPayload('bot_1');
  sequencer.acceptJoin(ack(0, [1, 2, 3]));
  sequencer.disconnected();
  assert.deepEqual(sequencer.joinPayload('bot_1'), { product_id: 'bot_1', since: 3 });
  sequencer.receive(...events(4)); // the live stream is back before the answer
  sequencer.acceptJoin(ack(3, [4, 5, 6]));
  assert.deepEqual(applied, [1, 2, 3, 4, 5, 6]);
});

test('a gap that stays open is fetched after a short wait, then filled from the answer', () => {
  const { sequencer, applied, fetches, pending, fire } = harness();
  sequencer.joinPayload('bot_1');
  sequencer.acceptJoin(ack(0, [1]));
  sequencer.receive(...events(3));
  sequencer.receive(...events(4));
  assert.ok(pending(), 'a gap starts the wait');
  sequencer.receive(...events(2)); // arrived within the wait: no fetch
  assert.ok(!pending());
  assert.deepEqual(applied, [1, 2, 3, 4]);
  sequencer.receive(...events(7));
  fire();
  assert.deepEqual(fetches, [4]);
  sequencer.receive(...events(8));
  assert.ok(!pending(), 'no second fetch while one is in flight');
  sequencer.acceptJoin(ack(4, [5, 6, 7]));
  assert.deepEqual(applied, [1, 2, 3, 4, 5, 6, 7, 8]);
});

test('a long replay is fetched page by page', () => {
  const { sequencer, applied, fetches } = harness();
  sequencer.joinPayload('bot_1');
  sequencer.acceptJoin(ack(0, [1, 2], { more: true, head: 4 }));
  assert.deepEqual(fetches, [2]);
  sequencer.acceptJoin(ack(2, [3, 4]));
  assert.deepEqual(applied, [1, 2, 3, 4]);
});

test('events no longer stored are skipped; a restarted log starts over', () => {
  const { sequencer, applied } = harness();
  sequencer.joinPayload('bot_1');
  sequencer.acceptJoin(ack(0, [1, 2]));
  sequencer.disconnected();
  sequencer.joinPayload('bot_1');
  sequencer.acceptJoin(ack(70, [71, 72])); // 3…70 were trimmed from the log meanwhile
  assert.equal(sequencer.cursor, 72);
  sequencer.disconnected();
  sequencer.joinPayload('bot_1');
  sequencer.acceptJoin(ack(0, [1], { reset: true })); // Redis lost the log: numbering starts again
  assert.deepEqual(applied, [1, 2, 71, 72, 1]);
  assert.equal(sequencer.cursor, 1);
});

test('malformed events and refused joins change nothing', () => {
  const { sequencer, applied } = harness();
  sequencer.joinPayload('bot_1');
  sequencer.acceptJoin({ success: false, error: 'unauthorized' });
  for (const event of [null, {}, { seq: '4' }, { seq: 4.5 }]) sequencer.receive(event);
  assert.deepEqual(applied, []);
  assert.equal(sequencer.cursor, 0);
  assert.equal(sequencer.joining, false);
});
