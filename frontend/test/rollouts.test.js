import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ROLLOUT_BUTTONS, progressText, stateLabel, throttle } from '../src/lib/rollouts.js';

test('a running rollout says which group is open; ready and finished ones say nothing', () => {
  const groups = [{}, {}, {}];
  assert.equal(progressText({ state: 'running', current_group: 2, groups }), 'group 2 of 3 open');
  assert.equal(progressText({ state: 'paused', current_group: 1, groups }), 'group 1 of 3 open');
  assert.equal(progressText({ state: 'done', current_group: 3, groups }), '');
  assert.equal(progressText({ state: 'ready', current_group: 0, groups }), '');
  assert.equal(stateLabel('paused'), 'Paused');
});

test('each state offers only the controls that apply', () => {
  assert.deepEqual(ROLLOUT_BUTTONS.ready, ['rollout-start', 'rollout-cancel']);
  assert.ok(ROLLOUT_BUTTONS.paused.includes('rollout-resume') && !ROLLOUT_BUTTONS.paused.includes('rollout-pause'));
  assert.deepEqual(ROLLOUT_BUTTONS.done, []);
});

test('a burst of changes is folded into one run per interval', () => {
  let now = 1000;
  const scheduled = [];
  const clock = { now: () => now };
  const timer = { set: (fn, ms) => scheduled.push({ fn, at: now + ms }), clear: () => {} };
  let runs = 0;
  const poke = throttle(() => { runs += 1; }, 2000, clock, timer);
  poke();
  assert.equal(runs, 1); // the first change is shown at once
  for (let i = 0; i < 500; i += 1) poke();
  assert.equal(runs, 1);
  assert.equal(scheduled.length, 1); // one trailing run for the whole burst
  assert.equal(scheduled[0].at, 3000);
  now = 3000;
  scheduled[0].fn();
  assert.equal(runs, 2);
  now = 6000;
  poke();
  assert.equal(runs, 3); // quiet for longer than the interval: at once again
});
