/**
 * The live connection to the bot's room on the /ota-update namespace. After every (re)connect it joins with the
 * last sequence number applied; the EventSequencer applies replayed and live events exactly once, in order, and
 * fetches any gap. The join answer also carries the server's clock, so timers use server timestamps.
 */
import { io } from 'socket.io-client';
import { EventSequencer } from '../lib/events.js';

export class LiveConnection {
  /**
   * @param {object} options  {productId, path, onEvent(event), onStatus('connecting'|'connected'|'reconnecting'|
   *   'offline', detail), onServerError(message), onLink('online'|'offline'|'unknown'): the device link's state,
   *   from every join answer and each `device_link` message}
   */
  constructor({ productId, path, onEvent, onStatus, onServerError, onLink = () => {} }) {
    this.productId = productId;
    this.onLink = onLink;
    this.clockOffset = 0;
    this.onServerError = onServerError;
    this.sequencer = new EventSequencer({
      apply: onEvent,
      fetchAfter: (since) => this.join({ product_id: productId, since }),
    });
    this.socket = io('/ota-update', {
      path,
      transports: ['websocket', 'polling'],
      tryAllTransports: true,
      withCredentials: true,
      reconnectionDelayMax: 10000,
    });
    onStatus('connecting');
    this.socket.on('connect', () => {
      onStatus('connected');
      this.join(this.sequencer.joinPayload(productId));
    });
    this.socket.on('disconnect', (reason) => {
      this.sequencer.disconnected();
      // A server-side disconnect is not retried by the client library, so ask for a new connection explicitly.
      if (reason === 'io server disconnect') this.socket.connect();
      onStatus('reconnecting', reason);
    });
    this.socket.on('connect_error', (error) => onStatus('reconnecting', error.message));
    this.socket.on('ota_event', (event) => {
      if (event?.product_id === undefined || event.product_id === this.productId) this.sequencer.receive(event);
    });
    this.socket.on('device_link', (message) => {
      if (typeof message?.state === 'string') this.onLink(message.state);
    });
    this.socket.on('error', (payload) => onServerError(payload?.error || String(payload)));
  }

  join(payload) {
    this.socket.emit('join', payload, (ack) => {
      if (Number.isFinite(ack?.now)) this.clockOffset = ack.now - Date.now();
      if (typeof ack?.link === 'string') this.onLink(ack.link);
      if (ack && !ack.success) this.onServerError(ack.error || 'could not join the bot\'s room');
      this.sequencer.acceptJoin(ack);
    });
  }

  /** The server's clock (ms since the epoch), for timers measured from event timestamps. */
  serverNow() {
    return Date.now() + this.clockOffset;
  }

  lastSeq() {
    return this.sequencer.cursor;
  }
}
