/**
 * The client half of the room's join contract (webide/realtime/namespace.py): a bot's room events are applied
 * exactly once and strictly in sequence-number order, whatever order replay pages and live messages come in.
 *
 * - After every (re)connect the page sends `join {since: cursor}`; the answer (`after`, `events`, `more`, `reset`)
 *   goes to `acceptJoin`.
 * - Live events go to `receive`. Events at or below the cursor are duplicates and dropped; later ones are held
 *   until the ones before them have been applied.
 * - A gap that stays open for `gapWaitMs` is fetched with `join {since: cursor}` (through `fetchAfter`).
 */
import { realTimers } from './timers.js';

export const GAP_WAIT_MS = 500;

export class EventSequencer {
  /**
   * @param {object} options  {apply(event), fetchAfter(since), gapWaitMs?, timers?: {set, clear}}
   */
  constructor({ apply, fetchAfter, gapWaitMs = GAP_WAIT_MS, timers = realTimers }) {
    Object.assign(this, { apply, fetchAfter, gapWaitMs, timers });
    this.cursor = 0;
    this.held = new Map();
    this.joining = false;
    this.gapTimer = null;
    this.duplicates = 0;
  }

  /** The `join` payload after a (re)connect; a join is then in flight until its answer arrives. */
  joinPayload(productId) {
    this.joining = true;
    return { product_id: productId, since: this.cursor };
  }

  /** Apply a join answer: move the cursor where the server says the page starts, then apply its events. */
  acceptJoin(ack) {
    this.joining = false;
    if (!ack || !ack.success) return;
    const after = Number.isInteger(ack.after) ? ack.after : this.cursor;
    if (ack.reset) {
      this.cursor = after;
      this.held.clear();
    } else {
      this.cursor = Math.max(this.cursor, after);
      for (const seq of this.held.keys()) if (seq <= this.cursor) this.held.delete(seq);
    }
    for (const event of ack.events || []) this.hold(event);
    this.applyReady();
    if (ack.more) this.fetch();
    else this.watchGap();
  }

  /** A live event. */
  receive(event) {
    if (!this.hold(event)) return;
    this.applyReady();
    this.watchGap();
  }

  /** The connection is gone: the join in flight will never be answered; the next connect joins again. */
  disconnected() {
    this.joining = false;
    this.stopGapTimer();
  }

  hold(event) {
    if (!event || !Number.isInteger(event.seq)) return false;
    if (event.seq <= this.cursor || this.held.has(event.seq)) {
      this.duplicates += 1;
      return false;
    }
    this.held.set(event.seq, event);
    return true;
  }

  applyReady() {
    while (this.held.has(this.cursor + 1)) {
      const event = this.held.get(this.cursor + 1);
      this.held.delete(this.cursor + 1);
      this.cursor += 1;
      this.apply(event);
    }
  }

  watchGap() {
    if (this.held.size === 0) {
      this.stopGapTimer();
      return;
    }
    if (this.joining || this.gapTimer !== null) return;
    this.gapTimer = this.timers.set(() => {
      this.gapTimer = null;
      if (this.held.size > 0 && !this.joining) this.fetch();
    }, this.gapWaitMs);
  }

  fetch() {
    this.stopGapTimer();
    this.joining = true;
    this.fetchAfter(this.cursor);
  }

  stopGapTimer() {
    if (this.gapTimer !== null) this.timers.clear(this.gapTimer);
    this.gapTimer = null;
  }
}
