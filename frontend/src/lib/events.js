/**
 * Room events arrive numbered; after a reconnect the server replays what the page missed, which can overlap with
 * what it already showed. The tracker lets each event through exactly once.
 */
export class SeqTracker {
  constructor(lastSeq = 0) {
    this.lastSeq = lastSeq;
  }

  /** True when the event is new (and remembers it); false for a duplicate, an old or a malformed event. */
  accept(event) {
    if (!event || !Number.isInteger(event.seq) || event.seq <= this.lastSeq) return false;
    this.lastSeq = event.seq;
    return true;
  }

  /** The payload for the `join` message: resume right after the last event seen. */
  joinPayload(productId) {
    return { product_id: productId, since: this.lastSeq };
  }
}
