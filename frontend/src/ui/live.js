/**
 * The live connection to the bot's room on the /ota-update namespace: joins after every (re)connect with the last
 * sequence number seen, so the server replays only what was missed, and passes each new event on exactly once.
 */
import { io } from 'socket.io-client';
import { SeqTracker } from '../lib/events.js';

export class LiveConnection {
  /**
   * @param {object} options  {productId, path, onEvent(event), onStatus('connecting'|'connected'|'reconnecting'|
   *   'offline', detail), onServerError(message)}
   */
  constructor({ productId, path, onEvent, onStatus, onServerError }) {
    this.productId = productId;
    this.tracker = new SeqTracker();
    this.onEvent = onEvent;
    this.onStatus = onStatus;
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
      this.socket.emit('join', this.tracker.joinPayload(productId));
    });
    this.socket.on('disconnect', (reason) => {
      // A server-side disconnect is not retried by the client library, so ask for a new connection explicitly.
      if (reason === 'io server disconnect') this.socket.connect();
      onStatus('reconnecting', reason);
    });
    this.socket.on('connect_error', (error) => onStatus('reconnecting', error.message));
    this.socket.on('ota_event', (event) => this.receive(event));
    this.socket.on('error', (payload) => onServerError(payload?.error || String(payload)));
  }

  receive(event) {
    if (event?.product_id !== undefined && event.product_id !== this.productId) return;
    if (this.tracker.accept(event)) this.onEvent(event);
  }

  lastSeq() {
    return this.tracker.lastSeq;
  }
}
