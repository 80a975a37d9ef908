/**
 * The live class dashboard page: loads the class's state once per (re)join of the class room, then applies each
 * change (heartbeats, compiles, flash states, saves) as it arrives; relative times tick every second.
 */
import { io } from 'socket.io-client';
import 'uplot/dist/uPlot.min.css';
import './dashboard.css';
import { configureShared } from '../lib/shared.js';
import { applyEvent, appendSample, errorMap, needsReload, seriesFields } from '../lib/dashboard.js';
import { deviceLinkText } from '../lib/format.js';
import { byId } from '../ui/dom.js';
import { BotTable } from './table.js';
import { ErrorMapView } from './errormap.js';

const SERIES_SAMPLES = 120;
const RELOAD_DELAY_MS = 1000;

class Dashboard {
  constructor(config) {
    this.config = config;
    this.bots = new Map();
    this.series = {};
    this.retentionMs = 3600 * 1000;
    this.offlineAfterS = 120;
    this.clockOffset = 0;
    this.loading = null;
    this.heldEvents = null;
    this.reloadTimer = null;
    this.state = { filter: 'all', sort: 'name', field: null };
    this.table = new BotTable(byId('bot-table'), {
      editorUrl: config.editorUrl,
      now: () => this.serverNow(),
      offlineAfterS: () => this.offlineAfterS,
    });
    this.errors = new ErrorMapView(byId('error-map'), byId('clean-summary'));
    this.showLink(config.deviceLink);
    this.bindControls();
    this.connect();
    setInterval(() => this.tick(), 1000);
  }

  serverNow() {
    return Date.now() + this.clockOffset;
  }

  bindControls() {
    for (const input of document.querySelectorAll('input[name="filter"]')) {
      input.addEventListener('change', () => { this.state.filter = input.value; this.render(); });
    }
    byId('sort-select').addEventListener('change', (event) => { this.state.sort = event.target.value; this.render(); });
    byId('field-select').addEventListener('change', (event) => {
      this.state.field = event.target.value;
      this.table.showField(this.state.field, this.series);
    });
  }

  connect() {
    this.socket = io('/ota-update', {
      path: this.config.socketPath,
      transports: ['websocket', 'polling'],
      tryAllTransports: true,
      withCredentials: true,
      reconnectionDelayMax: 10000,
    });
    this.setStatus('connecting', 'Connecting…');
    this.socket.on('connect', () => this.join());
    this.socket.on('disconnect', (reason) => {
      if (reason === 'io server disconnect') this.socket.connect();
      this.setStatus('reconnecting', 'Reconnecting…');
    });
    this.socket.on('connect_error', () => this.setStatus('reconnecting', 'Reconnecting…'));
    this.socket.on('class_event', (event) => this.receive(event));
    this.socket.on('device_link', (message) => {
      if (typeof message?.state === 'string') this.showLink(message.state);
    });
  }

  /** The device link's state (the bridge to the MQTT broker), live: from join answers and `device_link` messages. */
  showLink(state) {
    const element = byId('device-link');
    element.textContent = deviceLinkText(state);
    element.dataset.state = state;
  }

  join() {
    this.heldEvents = [];  // changes that arrive while the state loads are applied on top of it
    this.socket.emit('join_class', { class_name: this.config.className }, (ack) => {
      if (!ack?.success) {
        this.setStatus('error', ack?.error || 'Could not join the class');
        return;
      }
      if (Number.isFinite(ack.now)) this.clockOffset = ack.now - Date.now();
      if (typeof ack.link === 'string') this.showLink(ack.link);
      this.load().then(() => this.setStatus('connected', 'Live'));
    });
  }

  async load() {
    if (!this.heldEvents) this.heldEvents = [];
    try {
      const [data, series] = await Promise.all([
        fetchJson(this.config.dataUrl),
        fetchJson(`${this.config.seriesUrl}?newest=${SERIES_SAMPLES}`),
      ]);
      this.offlineAfterS = data.offline_after_s;
      this.retentionMs = series.retention_s * 1000;
      this.bots = new Map(data.bots.map((bot) => [bot.product_id, bot]));
      this.series = series.series;
      byId('series-note').hidden = series.available;
      const held = this.heldEvents ?? [];
      this.heldEvents = null;
      for (const event of held) this.apply(event);
      this.updateFields();
      this.render();
    } catch (error) {
      this.heldEvents = null;
      this.setStatus('error', `Could not load the class: ${error.message}`);
    }
  }

  receive(event) {
    if (this.heldEvents) this.heldEvents.push(event);
    else if (this.apply(event)) this.render(event.product_id);
  }

  /** Apply one change; true if a bot changed. */
  apply(event) {
    const bot = this.bots.get(event?.product_id);
    if (!bot) {
      this.scheduleReload();  // a bot this page does not know yet (added or moved in)
      return false;
    }
    if (needsReload(bot, event)) this.scheduleReload();
    this.bots.set(bot.product_id, applyEvent(bot, event));
    if (event.type === 'heartbeat' && event.values) this.addSample(event);
    return true;
  }

  addSample(event) {
    const sample = { ts: event.ts, values: event.values };
    const before = this.series[event.product_id] ?? [];
    this.series[event.product_id] = appendSample(before, sample, { maxSamples: SERIES_SAMPLES, maxAgeMs: this.retentionMs });
    const fieldsBefore = byId('field-select').options.length;
    this.updateFields();
    if (byId('field-select').options.length !== fieldsBefore) this.table.showField(this.state.field, this.series);
    else this.table.updateChart(event.product_id, this.series[event.product_id], this.state.field);
  }

  scheduleReload() {
    if (this.reloadTimer) return;
    this.reloadTimer = setTimeout(() => {
      this.reloadTimer = null;
      this.load();
    }, RELOAD_DELAY_MS);
  }

  updateFields() {
    const select = byId('field-select');
    const fields = seriesFields(this.series);
    const current = [...select.options].map((option) => option.value);
    if (fields.join('\n') !== current.join('\n')) {
      select.replaceChildren(...fields.map((name) => new Option(name, name)));
    }
    if (!fields.includes(this.state.field)) this.state.field = fields[0] ?? null;
    if (this.state.field) select.value = this.state.field;
    select.disabled = fields.length === 0;
  }

  render(changedProductId = null) {
    const bots = [...this.bots.values()];
    this.table.render(bots, this.state, this.series, changedProductId);
    this.errors.render(errorMap(bots));
    const online = this.table.onlineCount(bots);
    byId('online-summary').textContent = `${online} of ${bots.length} online`;
  }

  tick() {
    this.table.tick([...this.bots.values()]);
    const online = this.table.onlineCount([...this.bots.values()]);
    byId('online-summary').textContent = `${online} of ${this.bots.size} online`;
    if (this.state.filter === 'offline') this.table.render([...this.bots.values()], this.state, this.series, null);
  }

  setStatus(state, text) {
    const status = byId('connection-status');
    status.dataset.state = state;
    status.textContent = text;
  }
}

async function fetchJson(url) {
  const response = await fetch(url, { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
  const body = await response.json().catch(() => ({}));
  if (!response.ok || !body.success) throw new Error(body.error || `HTTP ${response.status}`);
  return body;
}

const config = JSON.parse(byId('page-config').textContent);
configureShared(config.rules);
window.webideDashboard = new Dashboard(config);
