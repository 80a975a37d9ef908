import './shared-rules.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  sizeSummary, formatElapsed, flashStatusText, lastSeenText, deviceLinkText, commandStateText, presenceText, serialLineProblem,
} from '../src/lib/format.js';

test('size summary uses the Arduino IDE sentences', () => {
  const text = sizeSummary({ flash_bytes: 924, flash_max: 32256, flash_percent: 2.9, ram_bytes: 9, ram_max: 2048, ram_percent: 0.4 });
  assert.equal(text, 'Sketch uses 924 bytes (2%) of program storage space. Maximum is 32256 bytes.\n'
    + 'Global variables use 9 bytes (0%) of dynamic memory, leaving 2039 bytes for local variables. Maximum is 2048 bytes.');
});

test('size summary without RAM figures or percent computes what it can', () => {
  assert.equal(sizeSummary({ flash_bytes: 500, flash_max: 1000, ram_bytes: null }),
    'Sketch uses 500 bytes (50%) of program storage space. Maximum is 1000 bytes.');
  assert.equal(sizeSummary({ flash_bytes: 32255, flash_max: 32256 }),
    'Sketch uses 32255 bytes (99%) of program storage space. Maximum is 32256 bytes.');
  assert.equal(sizeSummary({ flash_bytes: 700, flash_percent: 2.9 }), 'Sketch uses 700 bytes (2%) of program storage space.');
  assert.equal(sizeSummary(null), '');
  assert.equal(sizeSummary({}), '');
});

test('elapsed time is m:ss and h:mm:ss', () => {
  assert.equal(formatElapsed(0), '0:00');
  assert.equal(formatElapsed(65_400), '1:05');
  assert.equal(formatElapsed(3_726_000), '1:02:06');
});

test('flash states read like instructions', () => {
  assert.match(flashStatusText({ state: 'waiting_for_button' }), /press the button on your bot/);
  assert.equal(flashStatusText({ state: 'downloading', progress: 40 }), 'Bot is downloading the new firmware: 40%');
  assert.equal(flashStatusText({ state: 'failed' }), 'Update failed');
  assert.equal(flashStatusText({ state: 'failed', message: 'no room' }), 'Update failed: no room');
  assert.equal(flashStatusText({ state: 'weird', message: 'x' }), 'Bot: weird: x');
});

test('last seen is relative to now', () => {
  const now = Date.parse('2024-05-01T12:00:00Z');
  assert.equal(lastSeenText('2024-05-01T11:59:50Z', now), '10 s ago');
  assert.equal(lastSeenText('2024-05-01T09:00:00Z', now), '3 h ago');
  assert.equal(lastSeenText(null, now), 'never');
});

test('last seen reads the server\'s times with microseconds', () => {
  const now = Date.parse('2026-11-30T15:00:00Z');
  assert.equal(lastSeenText('2026-11-30T14:59:48.123456Z', now), '12 s ago');
});

test('the device link is described in words', () => {
  assert.equal(deviceLinkText('online'), 'device link online');
  assert.equal(deviceLinkText('offline'), 'device link offline');
  assert.equal(deviceLinkText(undefined), 'device link state unknown');
});

test('a command state line names the button and the state', () => {
  assert.equal(commandStateText('LED on', 'done'), 'LED on: done');
  assert.equal(commandStateText('Reboot', 'timed_out'), 'Reboot: timed out');
  assert.equal(commandStateText('Identify', 'failed', 'no LED pin'), 'Identify: failed — no LED pin');
});

test('a bot says whether it is on the live link', () => {
  assert.equal(presenceText(true), 'bot connected');
  assert.equal(presenceText(false), 'bot not connected');
  assert.equal(presenceText(null), 'bot never connected');
});

test('a line for the bot\'s Serial input is one line of at most 256 bytes', () => {
  assert.equal(serialLineProblem('speed 42'), '');
  assert.equal(serialLineProblem(''), '');
  assert.equal(serialLineProblem('é'.repeat(128)), '');
  assert.equal(serialLineProblem('é'.repeat(129)), 'the line is 258 bytes; at most 256 go to the bot');
  for (const bad of ['a\nb', 'tab\there', '\u001b[2J', 'del\u007f', 'c1\u0085', 'sep\u2028']) {
    assert.equal(serialLineProblem(bad), 'control characters (tabs, escapes) cannot be sent', JSON.stringify(bad));
  }
});
