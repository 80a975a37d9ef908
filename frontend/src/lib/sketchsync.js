/**
 * Keeping the editor's files and the server's sketch in step: autosave after typing stops, explicit saves,
 * optimistic concurrency by base revision (409 → conflict), and a local draft until the server confirms.
 */
import { sameFiles } from './diff.js';

const TRANSIENT_STATUSES = new Set([0, 502, 503, 504]);
const RETRY_DELAYS_MS = [2000, 5000, 10000, 30000];

export class SketchSync {
  /**
   * @param {object} options
   * @param {(payload: object) => Promise<{status: number, data: object}>} options.put  PUT the sketch; resolves
   *   for every HTTP status (status 0 means the server could not be reached).
   * @param {() => Array<{name: string, content: string}>} options.getFiles  the editor's current files
   * @param {import('./drafts.js').DraftStore} options.drafts
   * @param {(state: string, detail?: string) => void} options.onState  'saved' | 'dirty' | 'saving' | 'error' |
   *   'conflict'
   * @param {(current: object, mine: Array) => void} options.onConflict
   */
  constructor({ put, getFiles, drafts, onState, onConflict, delayMs = 1500,
    schedule = (fn, ms) => setTimeout(fn, ms), cancel = (handle) => clearTimeout(handle) }) {
    Object.assign(this, { put, getFiles, drafts, onState, onConflict, delayMs, schedule, cancel });
    this.revision = 0;
    this.savedFiles = [];
    this.state = 'saved';
    this.timer = null;
    this.inFlight = null;
    this.queued = null;
    this.failures = 0;
    this.conflict = null;
  }

  /**
   * Take the sketch loaded with the page as the baseline without touching the stored draft, which the page still
   * has to offer for restoring.
   */
  load(revision, files) {
    this.revision = revision;
    this.savedFiles = copyFiles(files);
    this.setState('saved');
  }

  /** Adopt the server's sketch as the saved baseline ("take theirs", restore, import). */
  adopt(revision, files) {
    this.revision = revision;
    this.savedFiles = copyFiles(files);
    this.conflict = null;
    this.failures = 0;
    this.cancelTimer();
    if (sameFiles(this.getFiles(), this.savedFiles)) {
      this.drafts.clear();
      this.setState('saved');
    } else {
      this.noteChange();
    }
  }

  /** Start from a stored draft based on `baseRevision`; saving it raises a conflict if the server moved on. */
  adoptDraft(baseRevision, serverFiles) {
    this.revision = baseRevision;
    this.savedFiles = copyFiles(serverFiles);
    this.noteChange();
  }

  /** The editor changed: keep a draft at once and save shortly after typing stops. */
  noteChange() {
    const files = this.getFiles();
    if (sameFiles(files, this.savedFiles) && this.state !== 'conflict') {
      this.drafts.clear();
      this.cancelTimer();
      if (!this.inFlight) this.setState('saved');
      return;
    }
    const stored = this.drafts.write(files, this.revision);
    if (this.state === 'conflict') return;
    if (!this.inFlight) this.setState('dirty', stored ? '' : 'browser storage unavailable');
    this.restartTimer(this.delayMs);
  }

  /** True while the editor holds text the server has not confirmed. */
  hasUnsavedChanges() {
    return this.state !== 'saved' || !sameFiles(this.getFiles(), this.savedFiles);
  }

  /**
   * Save now. Explicit saves always reach the server (they mark a revision in the history); autosaves are skipped
   * when nothing changed. Resolves to {ok, status, revision?, error?}.
   */
  async save({ explicit = false, message } = {}) {
    this.cancelTimer();
    if (this.state === 'conflict') return { ok: false, status: 409, error: 'Resolve the conflict first' };
    if (this.inFlight) return this.queueSave(explicit, message);
    const files = this.getFiles();
    if (!explicit && sameFiles(files, this.savedFiles)) {
      this.setState('saved');
      return { ok: true, status: 200, revision: this.revision, unchanged: true };
    }
    return this.send(files, explicit, message);
  }

  /** A save requested while another is on its way runs once that one is answered (merged into a single request). */
  queueSave(explicit, message) {
    if (!this.queued) {
      let resolve;
      const promise = new Promise((done) => { resolve = done; });
      this.queued = { promise, resolve, explicit: false, message: undefined };
    }
    this.queued.explicit = this.queued.explicit || explicit;
    this.queued.message = message || this.queued.message;
    return this.queued.promise;
  }

  async send(files, explicit, message) {
    const payload = { files, base_revision: this.revision, explicit };
    if (message) payload.message = message;
    this.setState('saving');
    let response;
    try {
      this.inFlight = this.put(payload);
      response = await this.inFlight;
    } catch (error) {
      response = { status: 0, data: { error: String(error?.message || error) } };
    } finally {
      this.inFlight = null;
    }
    const result = this.handleResponse(response, files);
    const queued = this.queued;
    this.queued = null;
    if (queued) queued.resolve(result.ok ? this.save(queued) : result);
    return result;
  }

  handleResponse({ status, data }, sentFiles) {
    if (status >= 200 && status < 300) return this.confirmed(data.revision, sentFiles);
    if (status === 409 && data?.current) return this.conflicted(data.current);
    return this.failed(status, errorText(status, data));
  }

  confirmed(revision, sentFiles) {
    this.revision = revision;
    this.savedFiles = copyFiles(sentFiles);
    this.failures = 0;
    const current = this.getFiles();
    if (sameFiles(current, sentFiles)) {
      this.drafts.clear();
      this.setState('saved');
    } else {
      this.drafts.write(current, revision);
      this.setState('dirty');
      this.restartTimer(this.delayMs);
    }
    return { ok: true, status: 200, revision };
  }

  conflicted(current) {
    this.conflict = current;
    this.setState('conflict', 'Someone else saved this sketch');
    this.onConflict(current, this.getFiles());
    return { ok: false, status: 409, error: 'conflict', current };
  }

  failed(status, error) {
    this.setState('error', error);
    if (TRANSIENT_STATUSES.has(status)) {
      const delay = RETRY_DELAYS_MS[Math.min(this.failures, RETRY_DELAYS_MS.length - 1)];
      this.failures += 1;
      this.restartTimer(delay);
    }
    return { ok: false, status, error };
  }

  /** Conflict resolved by keeping the editor's text: save it on top of the server's newer revision. */
  keepMine() {
    if (!this.conflict) return Promise.resolve({ ok: false, status: 0, error: 'no conflict' });
    this.revision = this.conflict.revision;
    this.conflict = null;
    this.setState('dirty');
    return this.save({ explicit: true, message: 'Kept my version after a conflict' });
  }

  /** Conflict resolved by taking the server's text; the caller loads `current.files` into the editor first. */
  takeTheirs() {
    if (!this.conflict) return;
    const { revision, files } = this.conflict;
    this.conflict = null;
    this.state = 'dirty';
    this.adopt(revision, files);
  }

  restartTimer(ms) {
    this.cancelTimer();
    this.timer = this.schedule(() => {
      this.timer = null;
      this.save();
    }, ms);
  }

  cancelTimer() {
    if (this.timer !== null) this.cancel(this.timer);
    this.timer = null;
  }

  setState(state, detail = '') {
    this.state = state;
    this.onState(state, detail);
  }
}

function copyFiles(files) {
  return files.map(({ name, content }) => ({ name, content }));
}

function errorText(status, data) {
  if (status === 0) return data?.error || 'server unreachable';
  if (status === 413) return data?.error || 'the sketch is too large';
  return data?.error || `HTTP ${status}`;
}
