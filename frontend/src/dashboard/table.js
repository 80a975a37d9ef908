/**
 * The bots table: one row per bot, kept by product ID so that live changes update cells in place and each bot's
 * chart (uPlot) survives re-sorting. All text goes in as text (textContent), never as markup.
 */
import uPlot from 'uplot';
import {
  buildText, chartColumns, firmwareText, formatHeap, formatRssi, formatUptime, hasError, isOnline, visibleBots,
} from '../lib/dashboard.js';
import { flashStatusText, lastSeenText, presenceText } from '../lib/format.js';
import { el } from '../ui/dom.js';

const CHART_WIDTH = 150;
const CHART_HEIGHT = 36;

export class BotTable {
  constructor(table, { editorUrl, now, offlineAfterS }) {
    this.body = table.tBodies[0];
    this.empty = document.getElementById('no-bots');
    this.editorUrl = editorUrl;
    this.now = now;
    this.offlineAfterS = offlineAfterS;
    this.rows = new Map();
    this.charts = new Map();
    this.field = null;
  }

  onlineCount(bots) {
    return bots.filter((bot) => isOnline(bot, this.now(), this.offlineAfterS())).length;
  }

  render(bots, state, series, changedProductId) {
    this.field = state.field;
    const shown = visibleBots(bots, { ...state, now: this.now(), offlineAfterS: this.offlineAfterS() });
    const known = new Set(bots.map((bot) => bot.product_id));
    for (const [productId, row] of this.rows) {
      if (!known.has(productId)) {
        row.element.remove();
        this.charts.get(productId)?.destroy();
        this.charts.delete(productId);
        this.rows.delete(productId);
      }
    }
    for (const bot of bots) {
      if (!this.rows.has(bot.product_id)) this.rows.set(bot.product_id, this.createRow(bot));
      if (changedProductId === null || changedProductId === bot.product_id) this.fill(this.rows.get(bot.product_id), bot);
    }
    const order = shown.map((bot) => this.rows.get(bot.product_id).element);
    const current = [...this.body.children];
    if (order.length !== current.length || order.some((row, index) => row !== current[index])) {
      this.body.replaceChildren(...order);
    }
    this.empty.hidden = shown.length > 0;
    this.empty.textContent = bots.length ? 'No bot matches this filter.' : 'This class has no bots yet.';
    for (const bot of shown) this.ensureChart(bot.product_id, series[bot.product_id] ?? []);
  }

  createRow(bot) {
    const cells = {
      name: el('a', { href: this.editorUrl.replace('__product_id__', encodeURIComponent(bot.product_id)) }),
      productId: el('span', { className: 'muted' }),
      status: el('span', { className: 'presence' }),
      seen: el('span', { className: 'muted seen' }),
      board: el('span'),
      firmware: el('span'),
      compile: el('span', { className: 'compile' }),
      compileAt: el('span', { className: 'muted' }),
      flash: el('span'),
      rssi: el('span'), heap: el('span'), uptime: el('span'),
      chart: el('div', { className: 'chart' }),
    };
    const element = el('tr', { 'data-product-id': bot.product_id },
      el('th', { scope: 'row' }, cells.name, el('br'), cells.productId),
      el('td', {}, cells.status, el('br'), cells.seen),
      el('td', { className: 'board' }, cells.board),
      el('td', { className: 'firmware' }, cells.firmware),
      el('td', {}, cells.compile, el('br'), cells.compileAt),
      el('td', { className: 'flash' }, cells.flash),
      el('td', { className: 'num' }, cells.rssi),
      el('td', { className: 'num' }, cells.heap),
      el('td', { className: 'num' }, cells.uptime),
      el('td', {}, cells.chart));
    return { element, cells, bot };
  }

  fill(row, bot) {
    row.bot = bot;
    const { cells } = row;
    cells.name.textContent = bot.name || bot.product_id;
    cells.productId.textContent = bot.product_id;
    cells.board.textContent = bot.board_name;
    cells.board.title = bot.fqbn;
    cells.firmware.textContent = firmwareText(bot);
    cells.compile.textContent = buildText(bot);
    row.element.dataset.building = bot.building?.status ?? '';
    cells.compile.title = bot.compile?.error?.message ?? '';
    row.element.classList.toggle('has-error', hasError(bot));
    cells.flash.textContent = bot.flash ? flashStatusText(bot.flash) : '—';
    cells.rssi.textContent = formatRssi(bot.telemetry?.rssi);
    cells.heap.textContent = formatHeap(bot.telemetry?.heap);
    cells.uptime.textContent = formatUptime(bot.telemetry?.uptime);
    this.fillTimes(row);
  }

  fillTimes(row) {
    const { bot, cells, element } = row;
    const now = this.now();
    const online = isOnline(bot, now, this.offlineAfterS());
    cells.status.textContent = online ? 'online' : 'offline';
    element.dataset.online = String(online);
    const seen = bot.last_seen ? `last seen ${lastSeenText(bot.last_seen, now)}` : 'never seen';
    // The bot's own presence on the MQTT link (its status topic and last will), when it ever said.
    cells.seen.textContent = typeof bot.live_link === 'boolean' ? `${seen} · ${presenceText(bot.live_link)}` : seen;
    element.dataset.liveLink = String(bot.live_link ?? 'unknown');
    cells.compileAt.textContent = bot.compile?.finished_at ? lastSeenText(bot.compile.finished_at, now) : '';
  }

  /** Relative times move on every second without touching anything else. */
  tick() {
    for (const row of this.rows.values()) this.fillTimes(row);
  }

  showField(field, series) {
    this.field = field;
    for (const [productId, chart] of this.charts) {
      chart.destroy();
      this.charts.delete(productId);
    }
    for (const productId of this.rows.keys()) this.ensureChart(productId, series[productId] ?? []);
  }

  ensureChart(productId, samples) {
    if (this.charts.has(productId) || !this.field) {
      if (this.charts.has(productId)) this.updateChart(productId, samples, this.field);
      return;
    }
    const target = this.rows.get(productId)?.cells.chart;
    if (!target || !samples.length) return;  // a chart appears with the bot's first sample
    const chart = new uPlot({
      width: CHART_WIDTH,
      height: CHART_HEIGHT,
      legend: { show: false },
      cursor: { show: false },
      axes: [{ show: false }, { show: false }],
      scales: { x: { time: true } },
      series: [{}, { label: this.field, stroke: '#2f7d95', width: 1.5, spanGaps: true }],
    }, chartColumns(samples, this.field), target);
    target.title = `${this.field}: ${samples.length} samples`;
    target.setAttribute('aria-label', `${this.field} over time`);
    target.setAttribute('role', 'img');
    this.charts.set(productId, chart);
  }

  updateChart(productId, samples, field) {
    const chart = this.charts.get(productId);
    if (field !== this.field) return;
    if (!chart) {
      this.ensureChart(productId, samples);
      return;
    }
    chart.setData(chartColumns(samples, field));
    const target = this.rows.get(productId)?.cells.chart;
    if (target) target.title = `${field}: ${samples.length} samples`;
  }
}
