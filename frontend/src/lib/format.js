/**
 * Texts shown in the build status line, in the Arduino IDE's words.
 */

import { sharedRules } from './shared.js';

/** "Sketch uses N bytes (P%) of program storage space. Maximum is M bytes." plus the RAM line when known. */
export function sizeSummary(sizes) {
  if (!sizes || !Number.isFinite(sizes.flash_bytes)) return '';
  const lines = [`Sketch uses ${sizes.flash_bytes} bytes (${percentOf(sizes.flash_percent, sizes.flash_bytes, sizes.flash_max)}%) `
    + `of program storage space.${sizes.flash_max ? ` Maximum is ${sizes.flash_max} bytes.` : ''}`];
  if (Number.isFinite(sizes.ram_bytes)) {
    const leaving = sizes.ram_max ? `, leaving ${sizes.ram_max - sizes.ram_bytes} bytes for local variables.`
      + ` Maximum is ${sizes.ram_max} bytes.` : '.';
    lines.push(`Global variables use ${sizes.ram_bytes} bytes (${percentOf(sizes.ram_percent, sizes.ram_bytes, sizes.ram_max)}%) `
      + `of dynamic memory${leaving}`);
  }
  return lines.join('\n');
}

// Whole percent cut off like the Arduino tools print it (930 of 32256 bytes is "2%"), so this summary never
// contradicts the toolchain's own line above it in the terminal.
function percentOf(given, used, maximum) {
  if (maximum) return Math.floor((100 * used) / maximum);
  return Number.isFinite(given) ? Math.floor(given) : '?';
}

/** Elapsed time as m:ss (or h:mm:ss for very long runs). */
export function formatElapsed(milliseconds) {
  const total = Math.max(0, Math.floor(milliseconds / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = String(total % 60).padStart(2, '0');
  return hours ? `${hours}:${String(minutes).padStart(2, '0')}:${seconds}` : `${minutes}:${seconds}`;
}

/** Status text for a flash state event {state, progress, message}, in the server's own sentence for the state. */
export function flashStatusText({ state, progress, message } = {}) {
  const sentence = sharedRules().flashStates[state];
  if (!sentence) return message ? `Bot: ${state}: ${message}` : `Bot: ${state}`;
  const withMessage = message ? sentence.replace('{message}', message) : sentence.replace(/:? ?\{message\}/, '');
  return withMessage.replace('{progress}', Number.isFinite(progress) ? String(progress) : '0');
}

/** A relative "last seen" description such as "12 s ago" or "3 h ago"; "never" without a timestamp. */
export function lastSeenText(isoTime, now = Date.now()) {
  if (!isoTime) return 'never';
  const seen = Date.parse(isoTime);
  if (Number.isNaN(seen)) return 'unknown';
  const seconds = Math.max(0, Math.round((now - seen) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86400)} d ago`;
}

/** What the pages say about the live device link (the bridge to the MQTT broker): online, offline or unknown. */
export function deviceLinkText(state) {
  if (state === 'online') return 'device link online';
  if (state === 'offline') return 'device link offline';
  return 'device link state unknown';
}

/** Whether the bot itself is connected to the MQTT broker (its presence on the status topic and last will). */
export function presenceText(liveLink) {
  if (liveLink === true) return 'bot connected';
  if (liveLink === false) return 'bot not connected';
  return 'bot never connected';
}

export const MAX_SERIAL_LINE_BYTES = 256;

/** Why a line cannot go to the bot's Serial input (the server checks the same), or '' when it can. */
export function serialLineProblem(line) {
  const bytes = new TextEncoder().encode(line).length;
  if (bytes > MAX_SERIAL_LINE_BYTES) return `the line is ${bytes} bytes; at most ${MAX_SERIAL_LINE_BYTES} go to the bot`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(line)) return 'control characters (tabs, escapes) cannot be sent';
  return '';
}

/** One line of a command's progress, e.g. "LED on: acked" or "Reboot: failed — no permission". */
export function commandStateText(label, state, message = '') {
  const words = { pending: 'waiting for the bot', timed_out: 'timed out' };
  return `${label}: ${words[state] || state}${message ? ` — ${message}` : ''}`;
}
