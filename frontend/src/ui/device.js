/**
 * The device panel (online state, firmware it runs vs the target, Wi-Fi settings, first-flash instructions), the
 * bot's status in the status bar, and the device monitor listing heartbeats, flash states, commands and the bot's
 * serial output (sent over the live link) with the server's time of each (so a reload lists the same times).
 * Heartbeats and serial lines never go to the build terminal.
 */
import { commandStateText, deviceLinkText, lastSeenText, presenceText, serialLineProblem } from '../lib/format.js';
import { ask } from './dialogs.js';
import { el, byId } from './dom.js';

const MONITOR_LIMIT = 500;
const COMMANDS_KEPT = 50;
const COMMAND_ORDER = ['pending', 'sent', 'acked', 'done', 'failed', 'timed_out'];

export class DevicePanel {
  constructor({ api, initial, link }) {
    this.api = api;
    this.device = initial;
    this.monitor = byId('monitor-log');
    this.commands = new Map(); // command id -> { label, state }, the commands sent from this page
    this.showLink(link);
    for (const button of byId('device-commands').querySelectorAll('button[data-command]')) {
      button.addEventListener('click', () => this.sendCommand(button));
    }
    byId('serial-form').addEventListener('submit', (event) => this.sendSerialLine(event));
    byId('wifi-form').addEventListener('submit', (event) => this.saveWifi(event));
    byId('btn-provisioning').addEventListener('click', () => this.downloadKit());
    setInterval(() => this.renderLastSeen(), 5000);
    this.render();
  }

  /** The device link's state (the bridge to the MQTT broker), live: from join answers and `device_link` messages. */
  showLink(state) {
    const element = byId('device-link');
    element.textContent = deviceLinkText(state);
    element.dataset.state = state;
  }

  async refresh() {
    try {
      this.device = await this.api.device();
      this.render();
    } catch (error) {
      byId('device-error').textContent = `Could not load the device: ${error.message}`;
    }
    try {
      const wifi = await this.api.wifi();
      byId('wifi-ssid').value = wifi.ssid || '';
      byId('wifi-password').placeholder = wifi.has_password ? 'a password is stored; type it again when saving' : '';
    } catch (error) {
      byId('wifi-message').textContent = `Could not load Wi-Fi settings: ${error.message}`;
    }
  }

  /** Apply a `device` or `flash` room event, a heartbeat or command line (stream `device`) or a serial line. */
  handleEvent(event) {
    if (event.type === 'line' && event.stream === 'serial') {
      this.log(event.text, event.ts, 'serial');
      return true;
    }
    if (event.type === 'command') {
      this.commandMoved(event.id, event.state);
      return true;
    }
    if (event.type === 'presence') {
      this.device = { ...this.device, live_link: event.live_link };
      this.render();
      return true;
    }
    if (event.type === 'device') {
      this.device = { ...this.device, online: event.online, last_seen: event.last_seen };
      this.render();
      return true;
    }
    if (event.type === 'line' && event.stream === 'device') {
      this.log(event.text, event.ts);
      return true;
    }
    if (event.type === 'flash') {
      this.device = { ...this.device, flash: { state: event.state, progress: event.progress, message: event.message } };
      this.log(`flash: ${event.state}${Number.isFinite(event.progress) ? ` ${event.progress}%` : ''}${event.message ? ` — ${event.message}` : ''}`,
        event.ts);
      this.render();
      if (event.state === 'running' || event.state === 'rolled_back') this.refresh();
      return true;
    }
    return false;
  }

  render() {
    const device = this.device || {};
    const online = byId('device-online');
    online.textContent = device.online ? 'online' : 'offline';
    online.className = device.online ? 'online' : 'offline';
    this.renderLastSeen();
    byId('device-presence').textContent = presenceText(device.live_link);
    byId('device-running').textContent = firmwareText(device.running, device.running?.version);
    byId('device-target').textContent = firmwareText(device.target,
      device.target?.build_number ? `build #${device.target.build_number}` : '');
    const upToDate = device.running && device.target && device.running.md5 === device.target.md5;
    byId('device-sync').textContent = device.target ? (upToDate ? 'The bot runs the target firmware.'
      : 'The bot does not run the target firmware yet.') : 'No firmware uploaded yet.';
    byId('device-flash').textContent = device.flash
      ? `${device.flash.state}${device.flash.message ? `: ${device.flash.message}` : ''}` : '—';
    const link = byId('firmware-link');
    link.href = device.firmware_url || '#';
    link.textContent = device.firmware_url || '';
    byId('firmware-url-code').textContent = device.firmware_url || '';
  }

  renderLastSeen() {
    const seen = lastSeenText(this.device?.last_seen);
    byId('device-last-seen').textContent = seen;
    byId('device-heartbeat').textContent = statusBarText(this.device, seen);
  }

  async saveWifi(event) {
    event.preventDefault();
    const message = byId('wifi-message');
    const ssid = byId('wifi-ssid').value.trim();
    const password = byId('wifi-password').value;
    if (!ssid) {
      message.textContent = 'Enter the network name (SSID).';
      return;
    }
    try {
      await this.api.setWifi(ssid, password);
      byId('wifi-password').value = '';
      byId('wifi-password').placeholder = 'a password is stored; type it again when saving';
      message.textContent = 'Wi-Fi settings saved.';
    } catch (error) {
      message.textContent = `Could not save Wi-Fi settings: ${error.message}`;
    }
  }

  /** Download the first-flash kit after the user agreed that the bot's device token is replaced. */
  async downloadKit() {
    const message = byId('provisioning-message');
    const agreed = await ask({
      title: 'Download first-flash kit?',
      message: 'The kit contains a new device token for this bot, its Wi-Fi password and the server address. '
        + 'Downloading it replaces the device token: the previous token stops working at once, so a bot that '
        + 'is already set up cannot reach the server until it is flashed with the new kit.',
      okLabel: 'Replace token and download',
    });
    if (!agreed) return;
    message.textContent = 'Preparing the kit…';
    try {
      const { blob, filename } = await this.api.provisioningKit();
      saveFile(blob, filename);
      message.textContent = `Saved ${filename}. The previous device token no longer works; follow README.txt inside.`;
    } catch (error) {
      message.textContent = `Could not make the kit: ${error.message}`;
    }
  }

  /** Send the button's command (a reboot only after the user agreed) and show its state as it moves. */
  async sendCommand(button) {
    const { command, state } = button.dataset;
    const label = button.textContent.replace('…', '');
    if (button.dataset.confirm) {
      const agreed = await ask({
        title: `${label} the bot?`,
        message: 'The bot restarts at once: the running sketch stops and the bot is offline until it is back.',
        okLabel: label,
      });
      if (!agreed) return;
    }
    const shown = byId('command-state');
    shown.textContent = `${label}: sending…`;
    try {
      const reply = await this.api.sendCommand(command, state ? { state } : {});
      this.follow(reply.command, label, 'command-state');
    } catch (error) {
      shown.textContent = `${label}: not sent — ${error.message}`;
    }
  }

  /** Send the typed line to the sketch's Serial input (a `serial` command); the server has the last word. */
  async sendSerialLine(event) {
    event.preventDefault();
    const input = byId('serial-line');
    const shown = byId('serial-state');
    const problem = serialLineProblem(input.value);
    if (problem) {
      shown.textContent = `Not sent: ${problem}`;
      return;
    }
    const label = `Serial "${input.value}"`;
    shown.textContent = `${label}: sending…`;
    try {
      const reply = await this.api.sendCommand('serial', { line: input.value });
      input.value = '';
      this.follow(reply.command, label, 'serial-state');
    } catch (error) {
      shown.textContent = `${label}: not sent — ${error.message}`;
    }
  }

  /** Show a command sent from this page in `target` as it moves on. */
  follow(command, label, target) {
    const known = this.commands.get(command.id);
    this.commands.set(command.id, { label, target, state: known?.state || command.state });
    this.commandMoved(command.id, command.state);
  }

  /** A command's state changed (reply or event); states only move forward, whichever arrives first. */
  commandMoved(id, state) {
    const entry = this.commands.get(id);
    if (!entry) {
      this.commands.set(id, { label: null, state }); // another page's command, or an event before our reply
      if (this.commands.size > COMMANDS_KEPT) this.commands.delete(this.commands.keys().next().value);
      return;
    }
    if (COMMAND_ORDER.indexOf(state) > COMMAND_ORDER.indexOf(entry.state)) entry.state = state;
    if (entry.label) byId(entry.target).textContent = commandStateText(entry.label, entry.state);
  }

  log(text, serverTime, kind = 'report') {
    const time = new Date(serverTime ?? Date.now()).toLocaleTimeString();
    this.monitor.append(el('li', { className: kind }, el('span', { className: 'time' }, time), '  ', text));
    while (this.monitor.childElementCount > MONITOR_LIMIT) this.monitor.firstElementChild.remove();
    this.monitor.scrollTop = this.monitor.scrollHeight;
  }
}

/** The status bar's line about the bot: connected on the live link counts as online even before a heartbeat. */
function statusBarText(device, seen) {
  const heartbeat = `last heartbeat ${seen}`;
  if (device?.live_link === true) return `Bot online (${presenceText(true)}), ${heartbeat}`;
  return `Bot ${device?.online ? 'online' : 'offline'}, ${heartbeat}`;
}

function firmwareText(firmware, extra) {
  if (!firmware) return 'none';
  const hash = firmware.sha256 ? `sha256 ${firmware.sha256.slice(0, 12)}…` : `md5 ${firmware.md5 || '?'}`;
  return [hash, extra].filter(Boolean).join(', ');
}

function saveFile(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = el('a', { href: url, download: filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}
