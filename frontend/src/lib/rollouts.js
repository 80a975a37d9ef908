/**
 * The firmware page's live rollouts, without the DOM: which controls a rollout state offers, the progress line,
 * and a throttle so a rollout of a thousand bots re-reads its table of bots at most every few seconds.
 */

import { realTimers } from './timers.js';

/** Buttons (by class) shown in each rollout state; the others are hidden. */
export const ROLLOUT_BUTTONS = {
  ready: ['rollout-start', 'rollout-cancel'],
  running: ['rollout-pause', 'rollout-advance', 'rollout-retry', 'rollout-cancel'],
  paused: ['rollout-resume', 'rollout-advance', 'rollout-retry', 'rollout-cancel'],
  done: [],
  cancelled: [],
};

export const OPEN_STATES = new Set(['ready', 'running', 'paused']);
export const GROUP_COUNTERS = ['size', 'succeeded', 'failed', 'updating', 'pending', 'left'];

/** "group 2 of 3 open" while the rollout runs or is paused; nothing otherwise. */
export function progressText(summary) {
  if (summary.state !== 'running' && summary.state !== 'paused') return '';
  return `group ${summary.current_group} of ${summary.groups.length} open`;
}

export function stateLabel(state) {
  return state ? state[0].toUpperCase() + state.slice(1) : '';
}

/**
 * Run `task` at most once every `intervalMs`: a call inside the interval is folded into one run at its end.
 * `clock` and `timer` are injectable for tests ({now() → ms}, {set(fn, ms), clear(handle)}).
 */
export function throttle(task, intervalMs, clock = Date, timer = realTimers) {
  let last = -Infinity;
  let pending = null;
  const run = () => {
    pending = null;
    last = clock.now();
    task();
  };
  return () => {
    if (pending !== null) return;
    const wait = last + intervalMs - clock.now();
    if (wait <= 0) run();
    else pending = timer.set(run, wait);
  };
}
