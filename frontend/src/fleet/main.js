/**
 * The firmware page's rollouts, live: each unfinished rollout's Socket.IO room sends a summary (state, open group,
 * each group's counters) whenever the rollout moves — one per change, however many bots moved. The summary is applied
 * at once; then the whole rollout (with its bots) is re-read from the API, at most every few seconds: that fills the
 * table of bots and corrects a summary overtaken by an older one (the web server and each worker publish their own).
 * After every (re)join the rollout is loaded once, so nothing missed while disconnected stays missing.
 * A rollout created elsewhere arrives as `rollout_created` {id} in the user's fleet room: its section is taken from
 * the page as the server renders it now (the same markup as on a reload) and added at the top, then followed.
 * Every text from the server is set as text (names and reasons come from people and bots), or comes escaped in the
 * server's own markup.
 */
import { io } from 'socket.io-client';
import {
  GROUP_COUNTERS, OPEN_STATES, ROLLOUT_BUTTONS, progressText, stateLabel, throttle,
} from '../lib/rollouts.js';

const RELOAD_MS = 2000;

class LiveRollout {
  constructor(section) {
    this.section = section;
    this.id = Number(section.dataset.rollout);
    this.reload = throttle(() => this.load().catch(() => {}), RELOAD_MS);
  }

  get open() {
    return OPEN_STATES.has(this.section.dataset.state);
  }

  /** Load the whole rollout: after a join, and (throttled) after changes. */
  async load() {
    const response = await fetch(`/api/rollouts/${this.id}`, { credentials: 'same-origin' });
    if (!response.ok) return;
    const { rollout } = await response.json();
    this.applySummary(rollout);
    this.applyBots(rollout.groups);
  }

  /** A summary from the room: patch at once; the bots and the checked state follow within a few seconds. */
  receive(summary) {
    this.applySummary(summary);
    this.reload();
  }

  applySummary(summary) {
    const { section } = this;
    section.dataset.state = summary.state;
    const badge = section.querySelector('.rollout-state');
    badge.textContent = stateLabel(summary.state);
    badge.className = `badge rollout-state state-${summary.state}`;
    section.querySelector('.rollout-progress').textContent = progressText(summary);
    section.querySelector('.paused-reason').textContent = summary.paused_reason ? `— ${summary.paused_reason}` : '';
    for (const group of summary.groups) {
      const row = section.querySelector(`.group[data-group="${group.number}"]`);
      if (!row) continue;
      for (const counter of GROUP_COUNTERS) {
        const cell = row.querySelector(`.${counter}`);
        if (cell) cell.textContent = String(group[counter]);
      }
    }
    const shown = new Set(ROLLOUT_BUTTONS[summary.state] ?? []);
    const actions = section.querySelector('.actions');
    if (actions) actions.hidden = shown.size === 0;
    for (const button of section.querySelectorAll('.actions button')) {
      button.hidden = ![...button.classList].some((name) => shown.has(name));
    }
  }

  applyBots(groups) {
    for (const group of groups) {
      for (const bot of group.bots ?? []) {
        const row = this.section.querySelector(`tr[data-bot="${CSS.escape(bot.product_id)}"]`);
        if (!row) continue;
        row.dataset.state = bot.state;
        row.querySelector('.bot-state').textContent = bot.state;
        row.querySelector('.bot-reason').textContent = bot.reason ?? '';
      }
    }
  }
}

class LiveRollouts {
  constructor(container, status) {
    this.container = container;
    this.status = status;
    this.rollouts = new Map(
      [...container.querySelectorAll('[data-rollout]')].map((section) => [Number(section.dataset.rollout), new LiveRollout(section)]),
    );
    this.socket = io('/ota-update', {
      path: container.dataset.socketPath || '/socket.io',
      transports: ['websocket', 'polling'],
      tryAllTransports: true,
      withCredentials: true,
      reconnectionDelayMax: 10000,
    });
    this.setStatus('connecting', 'Live updates: connecting…');
    this.socket.on('connect', () => this.joinAll());
    this.socket.on('disconnect', (reason) => {
      if (reason === 'io server disconnect') this.socket.connect();
      this.setStatus('reconnecting', 'Live updates: reconnecting…');
    });
    this.socket.on('connect_error', () => this.setStatus('reconnecting', 'Live updates: reconnecting…'));
    this.socket.on('rollout_event', (summary) => this.rollouts.get(summary?.id)?.receive(summary));
    this.socket.on('rollout_created', (created) => this.add(created?.id).catch(() => {}));
  }

  async joinAll() {
    const following = [...this.rollouts.values()].filter((rollout) => rollout.open);
    const answers = await Promise.all([this.joinFleet(), ...following.map((rollout) => this.join(rollout))]);
    const refused = answers.find((ack) => !ack?.success);
    if (refused) this.setStatus('error', `Live updates unavailable: ${refused?.error || 'no answer'}`);
    else this.setStatus('connected', 'Live updates: on');
  }

  joinFleet() {
    return new Promise((resolve) => {
      this.socket.timeout(10000).emit('join_fleet', {}, (error, ack) => {
        resolve(error ? { success: false, error: 'no answer' } : ack);
      });
    });
  }

  /** A rollout created elsewhere: its section as the server renders the page now, at the top, followed live. */
  async add(id) {
    if (!Number.isInteger(id) || this.rollouts.has(id)) return;
    const response = await fetch(window.location.pathname, { credentials: 'same-origin' });
    if (!response.ok) return;
    const page = new DOMParser().parseFromString(await response.text(), 'text/html');
    const section = page.querySelector(`#rollouts > [data-rollout="${id}"]`);
    if (!section || this.rollouts.has(id)) return;
    const added = document.importNode(section, true);
    this.container.prepend(added);
    document.getElementById('no-rollouts').hidden = true;
    const rollout = new LiveRollout(added);
    this.rollouts.set(id, rollout);
    if (rollout.open) await this.join(rollout);
  }

  join(rollout) {
    return new Promise((resolve) => {
      this.socket.timeout(10000).emit('join_rollout', { rollout_id: rollout.id }, (error, ack) => {
        if (!error && ack?.success) rollout.load().catch(() => {});
        resolve(error ? { success: false, error: 'no answer' } : ack);
      });
    });
  }

  setStatus(status, text) {
    if (!this.status) return;
    this.status.dataset.status = status;
    this.status.textContent = text;
  }
}

const container = document.getElementById('rollouts');
if (container) new LiveRollouts(container, document.getElementById('rollouts-live'));
