/**
 * Unsaved editor text kept in the browser's storage until the server confirms a save, so a reload, a crash or a
 * server outage never loses what was typed.
 */
import { sameFiles } from './diff.js';

/** Storage key of the draft for one bot's sketch. */
export function draftKey(productId) {
  return `webide:draft:${productId}`;
}

export class DraftStore {
  /** `storage` is a Web Storage object (window.localStorage) or anything with the same three methods. */
  constructor(storage, productId, now = () => Date.now()) {
    this.storage = storage;
    this.key = draftKey(productId);
    this.now = now;
  }

  /** The stored draft {files, baseRevision, savedAt}, or null when there is none or it is unreadable. */
  read() {
    let raw;
    try {
      raw = this.storage.getItem(this.key);
    } catch {
      return null;
    }
    if (!raw) return null;
    try {
      const draft = JSON.parse(raw);
      return isDraft(draft) ? draft : null;
    } catch {
      return null;
    }
  }

  /** Store the editor's files with the revision they were based on; false when storage is full or disabled. */
  write(files, baseRevision) {
    const draft = { files: files.map(({ name, content }) => ({ name, content })), baseRevision, savedAt: this.now() };
    try {
      this.storage.setItem(this.key, JSON.stringify(draft));
      return true;
    } catch {
      return false;
    }
  }

  clear() {
    try {
      this.storage.removeItem(this.key);
    } catch {
      // Storage disabled: there is nothing to clear.
    }
  }
}

function isDraft(value) {
  return Boolean(value) && Array.isArray(value.files) && Number.isInteger(value.baseRevision)
    && value.files.every((file) => typeof file?.name === 'string' && typeof file?.content === 'string');
}

/**
 * What to do with a stored draft when the page loads the server's sketch {files, revision}:
 * 'none' (no draft), 'discard' (the server already has exactly this text), 'offer' (unsaved edits on top of the
 * current revision) or 'offer-stale' (edits on top of a revision someone has since replaced: restoring them will
 * raise a conflict on save, so nothing is overwritten silently).
 */
export function restoreDecision(draft, server) {
  if (!draft) return 'none';
  if (sameFiles(draft.files, server.files)) return 'discard';
  return draft.baseRevision === server.revision ? 'offer' : 'offer-stale';
}
