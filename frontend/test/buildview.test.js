import './shared-rules.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PhaseTimes, successVerdict, unprintedLines } from '../src/lib/buildview.js';

const T0 = 1_800_000_000_000;

test('the compile time runs from the worker starting to the result, by server timestamps', () => {
  const times = new PhaseTimes();
  times.noteBuild({ type: 'progress', status: 'pending', ts: T0 - 3000 });
  assert.equal(times.text(T0), '');
  times.noteBuild({ type: 'progress', status: 'in_progress', ts: T0 });
  assert.equal(times.text(T0 + 4200), 'compile 0:04');
  assert.ok(times.running());
  times.noteBuild({ type: 'result', status: 'complete', ts: T0 + 7900 });
  assert.equal(times.text(T0 + 600_000), 'compile 0:07', 'a finished build shows the same number forever');
  assert.ok(!times.running());
});

test('the flash time runs from the first download to the bot running, and restarts with a new upload', () => {
  const times = new PhaseTimes();
  times.noteBuild({ type: 'progress', status: 'in_progress', ts: T0 });
  times.noteBuild({ type: 'result', ts: T0 + 5000 });
  times.noteFlash({ state: 'waiting_for_button', ts: T0 + 5001 });
  assert.equal(times.text(T0 + 90_000), 'compile 0:05', 'waiting for the button is not flashing');
  times.noteFlash({ state: 'downloading', progress: 10, ts: T0 + 60_000 });
  times.noteFlash({ state: 'downloading', progress: 90, ts: T0 + 70_000 });
  assert.equal(times.text(T0 + 75_000), 'compile 0:05 · flash 0:15');
  times.noteFlash({ state: 'rebooting', ts: T0 + 80_000 });
  times.noteFlash({ state: 'running', ts: T0 + 83_000 });
  assert.equal(times.text(T0 + 999_000), 'compile 0:05 · flash 0:23');
  times.noteFlash({ state: 'waiting_for_button', ts: T0 + 100_000 });
  assert.equal(times.text(T0 + 999_000), 'compile 0:05');
});

test('events without a server timestamp do not move the clocks', () => {
  const times = new PhaseTimes();
  times.noteBuild({ type: 'progress', status: 'in_progress' });
  times.noteFlash({ state: 'downloading' });
  assert.equal(times.text(T0), '');
});

test('a verdict the log already printed is not printed again', () => {
  const log = ['Sketch uses 930 bytes (2%) of program storage space. Maximum is 32256 bytes.',
    'Global variables use 9 bytes (0%) of dynamic memory, leaving 2039 bytes for local variables. Maximum is 2048 bytes.'];
  assert.deepEqual(unprintedLines(log.join('\n'), log), []);
  assert.deepEqual(unprintedLines('Stopped: memory limit 64 MiB exceeded', ['cc1plus', 'Stopped: memory limit 64 MiB exceeded']), []);
  assert.deepEqual(unprintedLines('Compilation error (1)', ['x.ino:3:1: error: expected']), ['Compilation error (1)']);
});

test('an Upload on a board that updates over the air waits for the button; Verify only names the sizes', () => {
  const headline = 'Sketch uses 924 bytes (2%) of program storage space.';
  const ota = { over_the_air: true, firmware_url: '/api/builds/b1/firmware', firmware_file: null, message: 'Sketch uses…' };
  assert.deepEqual(successVerdict(ota, true, headline),
    { status: `${headline} — press the button on your bot`, note: '', firmware: null });
  assert.deepEqual(successVerdict({ over_the_air: false }, false, headline),
    { status: `Done compiling. ${headline}`, note: '', firmware: null }, 'Verify offers no download');
  assert.equal(successVerdict({}, true, headline).status, `${headline} — press the button on your bot`,
    'a result without the field (an older event) keeps the old wording');
});

test('an Upload on a board that cannot update over the air says so and offers the firmware instead', () => {
  const message = 'Sketch uses 924 bytes (2%) of program storage space. This board cannot update over the air: '
    + 'download the compiled firmware from /api/builds/b2/firmware and flash it over USB';
  const verdict = successVerdict(
    { over_the_air: false, firmware_url: '/api/builds/b2/firmware', firmware_file: 'bot_1.ino.hex', message },
    true, 'Sketch uses 924 bytes (2%) of program storage space.');
  assert.match(verdict.status, /^This board cannot update over the air: download the firmware and flash it over USB/);
  assert.doesNotMatch(verdict.status, /press the button/);
  assert.equal(verdict.note, message);
  assert.deepEqual(verdict.firmware, { url: '/api/builds/b2/firmware', label: 'Download firmware (.hex)' });
  assert.equal(successVerdict({ over_the_air: false, firmware_url: '/f' }, true, 'Done').firmware.label,
    'Download firmware', 'no file name: no made-up extension');
});
