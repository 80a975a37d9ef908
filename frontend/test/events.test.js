import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SeqTracker } from '../src/lib/events.js';

test('replayed and duplicate events are let through once, in order of first arrival', () => {
  const tracker = new SeqTracker();
  const arrivals = [1, 2, 3, 2, 3, 4, 1, 5, 5].map((seq) => ({ seq, type: 'line' }));
  const shown = arrivals.filter((event) => tracker.accept(event)).map((event) => event.seq);
  assert.deepEqual(shown, [1, 2, 3, 4, 5]);
  assert.equal(tracker.lastSeq, 5);
});

test('join payload resumes after the last event seen', () => {
  const tracker = new SeqTracker();
  assert.deepEqual(tracker.joinPayload('bot_1'), { product_id: 'bot_1', since: 0 });
  tracker.accept({ seq: 17 });
  assert.deepEqual(tracker.joinPayload('bot_1'), { product_id: 'bot_1', since: 17 });
});

test('malformed events are refused without moving the position', () => {
  const tracker = new SeqTracker(3);
  for (const event of [null, {}, { seq: '4' }, { seq: 4.5 }]) assert.equal(tracker.accept(event), false);
  assert.equal(tracker.lastSeq, 3);
});
