import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  appendSample, applyEvent, buildText, chartColumns, compileText, editsBehind, errorMap, firmwareText, formatHeap,
  formatUptime, isOnline, needsReload, seriesFields, visibleBots,
} from '../src/lib/dashboard.js';

const NOW = Date.parse('2026-01-01T12:00:00Z');
const seenAgo = (seconds) => new Date(NOW - seconds * 1000).toISOString();
const error = (normalized, message = normalized, file = 'a.ino', line = 3) => ({
  status: 'error', deploy: false, error: { normalized, message, file, line },
});

function bot(productId, extra = {}) {
  return {
    product_id: productId, name: '', last_seen: null, head_revision: 1, running_build: null, target_build: null,
    running: null, compile: null, telemetry: {}, sensors: {}, ...extra,
  };
}

test('a bot is online while its last heartbeat is within the offline limit', () => {
  assert.equal(isOnline(bot('a', { last_seen: seenAgo(119) }), NOW, 120), true);
  assert.equal(isOnline(bot('a', { last_seen: seenAgo(121) }), NOW, 120), false);
  assert.equal(isOnline(bot('a'), NOW, 120), false);
});

test('edits behind compare the head revision with the running build\'s', () => {
  assert.equal(editsBehind(bot('a', { head_revision: 7, running_build: { number: 2, revision: 4 } })), 3);
  assert.equal(editsBehind(bot('a', { head_revision: 4, running_build: { number: 2, revision: 4 } })), 0);
  assert.equal(editsBehind(bot('a', { running_build: { number: 2, revision: null } })), null);
  assert.equal(editsBehind(bot('a')), null);
  assert.equal(firmwareText(bot('a', { head_revision: 5, running_build: { number: 2, revision: 4 },
    target_build: { number: 3, revision: 5 } })), 'running build #2 · target #3 · 1 edit behind');
  assert.equal(firmwareText(bot('a')), 'no firmware reported');
});

test('the last compile reads like the Arduino IDE: file:line and the message', () => {
  assert.equal(compileText(null), 'not compiled yet');
  assert.equal(compileText({ status: 'clean', deploy: true }), 'clean (Upload)');
  assert.equal(compileText(error('x', "'led' was not declared", 'b.ino', 12)), "b.ino:12: 'led' was not declared");
  assert.equal(compileText(error('x', 'Stopped', null, null)), 'Stopped');
});

test('filters: errors only, offline, behind; sorting keeps names as the tie-break', () => {
  const bots = [
    bot('c', { name: 'Carla', compile: error('e'), last_seen: seenAgo(5) }),
    bot('a', { name: 'Ann', last_seen: seenAgo(500), compile: { status: 'clean' } }),
    bot('b', { name: 'Ben', last_seen: seenAgo(1), head_revision: 9, running_build: { number: 1, revision: 2 } }),
  ];
  const ids = (options) => visibleBots(bots, { now: NOW, offlineAfterS: 120, ...options }).map((b) => b.product_id);
  assert.deepEqual(ids({}), ['a', 'b', 'c']);
  assert.deepEqual(ids({ filter: 'errors' }), ['c']);
  assert.deepEqual(ids({ filter: 'offline' }), ['a']);
  assert.deepEqual(ids({ filter: 'behind' }), ['b']);
  assert.deepEqual(ids({ sort: 'compile' }), ['c', 'b', 'a']);
  assert.deepEqual(ids({ sort: 'status' }), ['a', 'b', 'c']);
  assert.deepEqual(ids({ sort: 'behind' }), ['b', 'a', 'c']);
  assert.equal(bots[0].product_id, 'c', 'the rows given are not reordered');
});

test('live changes patch a row; a new image asks for the server\'s view', () => {
  const before = bot('a', { running: { md5: 'aa' }, running_build: { number: 1, revision: 1 }, telemetry: { heap: 1 } });
  const beat = { type: 'heartbeat', last_seen: seenAgo(0), telemetry: { rssi: -40 }, sensors: { t: 2 }, running: { md5: 'aa' } };
  const after = applyEvent(before, beat);
  assert.deepEqual(after.telemetry, { heap: 1, rssi: -40 });
  assert.equal(after.running_build.number, 1);
  assert.equal(needsReload(before, beat), false);
  const newImage = { ...beat, running: { md5: 'bb' } };
  assert.equal(needsReload(before, newImage), true);
  assert.equal(applyEvent(before, newImage).running_build, null);
  assert.equal(applyEvent(before, { type: 'compile', compile: error('x') }).compile.status, 'error');
  assert.equal(applyEvent(before, { type: 'revision', head_revision: 4 }).head_revision, 4);
  const flashed = applyEvent(before, { type: 'flash', flash: { state: 'downloading', progress: 5 }, build_number: 2 });
  assert.deepEqual(flashed.target_build, { number: 2, revision: null });
  assert.equal(applyEvent(before, { type: 'unknown' }), before);
  assert.equal(before.telemetry.rssi, undefined, 'the old row is left as it was');
});

test('the error map counts bots per normalised error, most common first', () => {
  const map = errorMap([
    bot('a', { compile: error("'…' was not declared", "'x' was not declared") }),
    bot('b', { compile: error("'…' was not declared", "'y' was not declared", 'b.ino', 9) }),
    bot('c', { compile: error("expected ';'") }),
    bot('d', { compile: { status: 'clean' } }),
    bot('e'),
  ]);
  assert.deepEqual([map.total, map.clean, map.failing, map.never_compiled], [5, 1, 3, 1]);
  assert.deepEqual(map.errors.map((group) => [group.message, group.count]), [["'…' was not declared", 2], ["expected ';'", 1]]);
  assert.deepEqual(map.errors[0].bots.map((b) => [b.product_id, b.line]), [['a', 3], ['b', 9]]);
});

test('series keep the newest samples within count and age, without duplicates', () => {
  let series = [];
  for (let n = 0; n < 10; n += 1) series = appendSample(series, { ts: n * 1000, values: { t: n } }, { maxSamples: 4, maxAgeMs: 60_000 });
  assert.deepEqual(series.map((s) => s.values.t), [6, 7, 8, 9]);
  series = appendSample(series, { ts: 9000, values: { t: 9 } }, { maxSamples: 4, maxAgeMs: 60_000 });
  assert.equal(series.length, 4);
  series = appendSample(series, { ts: 70_000, values: { t: 70 } }, { maxSamples: 4, maxAgeMs: 60_000 });
  assert.deepEqual(series.map((s) => s.values.t), [70]);
  assert.equal(appendSample(series, { values: {} }, { maxSamples: 4, maxAgeMs: 1 }), series);
});

test('chart fields put sensors first; columns are uPlot\'s seconds and values with gaps', () => {
  const series = { a: [{ ts: 1000, values: { rssi: -50, heap: 9, light: 3 } }], b: [{ ts: 2000, values: { co2: 400 } }] };
  assert.deepEqual(seriesFields(series), ['co2', 'light', 'rssi', 'heap']);
  assert.deepEqual(chartColumns([{ ts: 1000, values: { t: 1 } }, { ts: 3000, values: {} }], 't'), [[1, 3], [1, null]]);
});

test('heap and uptime read as people say them', () => {
  assert.equal(formatHeap(183000), '179 KiB');
  assert.equal(formatHeap(undefined), '—');
  assert.equal(formatUptime(42), '42 s');
  assert.equal(formatUptime(3 * 3600 + 120), '3 h 2 min');
  assert.equal(formatUptime(2 * 86400 + 3600), '2 d 1 h');
});

test('a presence event changes only the bot\'s live link', () => {
  const before = { product_id: 'b1', live_link: true, last_seen: 'x' };
  assert.deepEqual(applyEvent(before, { type: 'presence', product_id: 'b1', live_link: false }),
    { product_id: 'b1', live_link: false, last_seen: 'x' });
});

test('a build queued or compiling shows in the compile column until its own result arrives', () => {
  const before = bot('a', { compile: { status: 'clean', deploy: false, update_id: 'old' } });
  const queued = applyEvent(before, {
    type: 'build', product_id: 'a', build: { update_id: 'new', status: 'pending', deploy: true, message: 'Queued' },
  });
  assert.equal(buildText(queued), 'Upload queued…');
  const shared = applyEvent(queued, { type: 'build', product_id: 'a', build: {
    update_id: 'new', status: 'in_progress', deploy: true, message: 'Compiling once for 30 bots (on bot_07)' } });
  assert.equal(buildText(shared), 'Upload: Compiling once for 30 bots (on bot_07)');
  // An older build's result does not end the newer one; its own result does.
  const older = applyEvent(shared, { type: 'compile', product_id: 'a', compile: { status: 'clean', update_id: 'old' } });
  assert.equal(older.building.update_id, 'new');
  const failed = { ...error('x', 'boom', 'a.ino', 2), update_id: 'new' };
  const done = applyEvent(older, { type: 'compile', product_id: 'a', compile: failed });
  assert.equal(done.building, null);
  assert.equal(buildText(done), 'a.ino:2: boom');
});
