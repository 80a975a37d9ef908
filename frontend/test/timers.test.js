import { test } from 'node:test';
import assert from 'node:assert/strict';
import { throttle } from '../src/lib/rollouts.js';
import { realTimers } from '../src/lib/timers.js';

/** Like a browser's timers: they refuse to run as a method of any object but the global one. */
function browserLike(real) {
  return function timer(...args) {
    if (this !== undefined && this !== globalThis) throw new TypeError('Illegal invocation');
    return real(...args);
  };
}

function withBrowserTimers(t) {
  const [setReal, clearReal] = [globalThis.setTimeout, globalThis.clearTimeout];
  t.after(() => Object.assign(globalThis, { setTimeout: setReal, clearTimeout: clearReal }));
  Object.assign(globalThis, { setTimeout: browserLike(setReal), clearTimeout: browserLike(clearReal) });
  return setReal;
}

test('the page timers call setTimeout and clearTimeout unbound, as browsers require', async (t) => {
  const setReal = withBrowserTimers(t);
  const ran = await new Promise((resolve) => { realTimers.set(() => resolve(true), 1); });
  assert.equal(ran, true);
  let cancelledRan = false;
  realTimers.clear(realTimers.set(() => { cancelledRan = true; }, 1));
  await new Promise((resolve) => { setReal(resolve, 20); });
  assert.equal(cancelledRan, false);
});

test('a throttled reload with the default timers folds a second call into one later run in a browser', async (t) => {
  const setReal = withBrowserTimers(t);
  let runs = 0;
  const reload = throttle(() => { runs += 1; }, 10);
  reload();
  reload();
  assert.equal(runs, 1);
  await new Promise((resolve) => { setReal(resolve, 40); });
  assert.equal(runs, 2);
});
