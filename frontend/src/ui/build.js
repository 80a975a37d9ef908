/**
 * Verify and Upload: save, submit the build, then follow it through room events (lines, progress, result) and the
 * flash sequence on the bot, driving the terminal, progress bar, elapsed time and status line.
 *
 * The terminal shows one build: its lines exactly as the log has them, then the verdict only where the log did not
 * print it already. Times come from the events' server timestamps, so a reload shows the same numbers. Heartbeat
 * lines (stream `device`) and the bot's serial output (stream `serial`) belong to the device monitor, not here.
 */
import { flashStatusText, sizeSummary } from '../lib/format.js';
import { PhaseTimes, successVerdict, unprintedLines } from '../lib/buildview.js';
import { NO_DIAGNOSTICS, diagnosticsArrived, revisionDisplayed } from '../lib/diagnostics.js';

const RUNNING = new Set(['pending', 'in_progress']);
const REPLAY_SETTLE_MS = 3000;
const RECENT_LINES = 40;

export class BuildPanel {
  /**
   * @param {object} parts  {api, terminal, editor, saveFirst() → Promise<{ok, error?}>, serverNow() → ms,
   *   elements: {status, progress, elapsed, verify, upload, cancel, fullLog, firmware}}
   */
  constructor({ api, terminal, editor, saveFirst, serverNow, shownRevision = () => undefined, elements }) {
    Object.assign(this, { api, terminal, editor, saveFirst, serverNow, shownRevision, elements });
    this.diagnosticsState = NO_DIAGNOSTICS; // which revision's diagnostics are drawn, which wait (lib/diagnostics)
    this.current = null;
    this.shown = null; // the build whose lines the terminal shows
    this.times = new PhaseTimes();
    this.recent = [];
    this.lastHeadline = '';
    this.finished = new Set();
    this.starting = null; // deploy flag of the build this page is submitting, until the server answers
    elements.cancel.addEventListener('click', () => this.cancel());
    elements.fullLog.addEventListener('click', (event) => {
      event.preventDefault();
      this.openFullLog();
    });
    setInterval(() => this.times.running() && this.tickElapsed(), 1000);
  }

  isRunning() {
    return this.current !== null;
  }

  /** Verify (deploy=false) or Upload (deploy=true) the stored sketch, saving the editor first. */
  async start(deploy) {
    if (this.current) return;
    const verb = deploy ? 'Upload' : 'Verify';
    this.setBusy(true);
    this.setStatus(`${verb}: saving…`, 'busy');
    const saved = await this.saveFirst();
    if (!saved.ok) {
      this.setBusy(false);
      this.setStatus(`${verb} cancelled: the sketch could not be saved (${saved.error})`, 'error');
      return;
    }
    try {
      this.starting = deploy;
      const build = await this.api.startBuild(deploy).finally(() => { this.starting = null; });
      // Room events can overtake the HTTP answer: the build may already be followed, or even finished.
      if (this.finished.has(build.update_id)) return;
      if (this.current?.updateId !== build.update_id) this.begin(build.update_id, deploy);
      this.applyProgress(build);
    } catch (error) {
      this.setBusy(false);
      this.setStatus(`${verb} failed to start: ${error.message}`, 'error');
      this.terminal.failure(`${verb} refused: ${error.message}`);
    }
  }

  begin(updateId, deploy) {
    this.current = { updateId, deploy };
    this.shown = updateId;
    this.times = new PhaseTimes();
    this.recent = [];
    this.elements.fullLog.hidden = true;
    this.elements.firmware.hidden = true;
    this.editor.setDiagnostics([]);
    this.terminal.clear();
    this.terminal.info(deploy ? 'Compiling sketch for upload…' : 'Compiling sketch…');
    this.setBusy(true);
    this.elements.progress.value = 0;
    this.elements.progress.hidden = false;
    this.tickElapsed();
  }

  async cancel() {
    if (!this.current) return;
    try {
      await this.api.cancelBuild(this.current.updateId);
      this.setStatus('Cancelling…', 'busy');
    } catch (error) {
      this.setStatus(`Could not cancel: ${error.message}`, 'error');
    }
  }

  /** Handle one room event; returns true when it belonged to builds or flashing. */
  handleEvent(event) {
    switch (event.type) {
      case 'line':
        if (event.stream === 'device' || event.stream === 'serial') return false;
        this.adoptIfNew(event);
        if (event.stream === 'flash') this.terminal.info(event.text);
        else if (event.update_id === this.shown) this.writeBuildLine(event.text);
        return true;
      case 'progress':
        this.adoptIfNew(event);
        if (this.current && event.update_id === this.current.updateId) {
          this.times.noteBuild(event);
          this.applyProgress(event);
          this.tickElapsed();
        }
        return true;
      case 'result':
        if (event.update_id === this.shown) this.times.noteBuild(event);
        this.applyResult(event);
        return true;
      case 'flash':
        this.times.noteFlash(event);
        this.applyFlash(event);
        this.tickElapsed();
        return true;
      default:
        return false;
    }
  }

  writeBuildLine(text) {
    this.terminal.writeLine(text);
    this.recent.push(text);
    if (this.recent.length > RECENT_LINES) this.recent.shift();
  }

  /**
   * A build started elsewhere (another tab, an instructor) is followed live as well. One queued behind the running
   * build is taken up when it starts, so the running build's output is never cut off.
   */
  adoptIfNew(event) {
    if (event.stream === 'flash' || !event.update_id || this.finished.has(event.update_id)) return;
    if (this.current?.updateId === event.update_id) return;
    if (event.type === 'progress' && !RUNNING.has(event.status)) return;
    if (this.current && event.type === 'progress' && event.status === 'pending') return;
    // Progress and line events do not say whether the build deploys; while this page's own request is on its way,
    // a new build is most likely the one it asked for.
    this.begin(event.update_id, Boolean(event.deploy ?? this.starting));
    this.confirmStillRunning(event.update_id);
  }

  /**
   * A build picked up from replayed events may have ended long ago with its last events trimmed from the log;
   * once the replay has settled, ask the server so the page never stays stuck in "building".
   */
  confirmStillRunning(updateId) {
    setTimeout(async () => {
      if (this.current?.updateId !== updateId) return;
      try {
        const build = await this.api.build(updateId);
        if (!RUNNING.has(build.status) && this.current?.updateId === updateId) this.applyResult(build);
      } catch (error) {
        if (error.status === 404) this.finish();
      }
    }, REPLAY_SETTLE_MS);
  }

  applyProgress({ progress, message, status }) {
    if (Number.isFinite(progress)) this.elements.progress.value = progress;
    if (message && RUNNING.has(status)) this.setStatus(message, 'busy');
  }

  applyResult(result) {
    if (this.finished.has(result.update_id)) return;
    this.finished.add(result.update_id);
    const deploy = result.deploy ?? this.current?.deploy ?? false;
    this.showDiagnostics(result.revision, result.diagnostics || []);
    const isCurrent = !this.current || this.current.updateId === result.update_id;
    if (isCurrent) this.finish();
    if (!Number.isFinite(result.ts) && Number.isFinite(result.timings?.build_s) && result.update_id === this.shown) {
      this.times.compile = { start: 0, end: result.timings.build_s * 1000 }; // from the stored build, not an event
      this.tickElapsed();
    }
    if (result.status === 'complete') this.reportSuccess(result, deploy);
    else this.reportFailure(result);
  }

  /**
   * Draw diagnostics only on the revision they belong to: when the editor shows another one (a teacher's view
   * that has not caught up with the student's save yet), they wait until that revision is shown.
   */
  showDiagnostics(revision, diagnostics) {
    this.applyDiagnosticsStep(diagnosticsArrived(this.diagnosticsState, revision, diagnostics, this.shownRevision()));
  }

  /** The editor now shows `revision`: draw the diagnostics that were waiting for it, drop those of another. */
  revisionShown(revision) {
    this.applyDiagnosticsStep(revisionDisplayed(this.diagnosticsState, revision));
  }

  applyDiagnosticsStep({ state, draw }) {
    this.diagnosticsState = state;
    if (draw) this.editor.setDiagnostics(draw);
  }

  /** Print the verdict lines that the build's own output has not shown (the toolchain prints its size summary). */
  printVerdict(result, text, print) {
    if (result.update_id !== this.shown) return;
    for (const line of unprintedLines(text, this.recent)) print(line);
  }

  reportSuccess(result, deploy) {
    const sizes = sizeSummary(result.sizes);
    this.printVerdict(result, sizes || result.message || 'Done compiling', (line) => this.terminal.success(line));
    this.elements.progress.value = 100;
    const headline = sizes ? sizes.split('\n')[0] : result.message || 'Done compiling';
    this.lastHeadline = headline;
    const verdict = successVerdict(result, deploy, headline);
    if (verdict.note) this.printVerdict(result, verdict.note, (line) => this.terminal.info(line));
    this.setStatus(verdict.status, 'ok');
    if (verdict.firmware && result.update_id === this.shown) this.offerFirmware(verdict.firmware);
  }

  /** A board flashed over USB: the compiled firmware is a download next to the status line. */
  offerFirmware({ url, label }) {
    const link = this.elements.firmware;
    link.href = url;
    link.textContent = label;
    link.hidden = false;
  }

  reportFailure(result) {
    const errors = (result.diagnostics || []).filter((d) => String(d.severity).includes('error')).length;
    const text = result.message || (errors ? `Compilation error (${errors})` : 'Build failed');
    this.printVerdict(result, text, (line) => this.terminal.failure(line));
    this.setStatus(text, 'error');
  }

  /** The flash state drives the status line and progress; its sentence reaches the terminal as a `line` event. */
  applyFlash(event) {
    const text = flashStatusText(event);
    const failed = event.state === 'failed' || event.state === 'rolled_back';
    const keepSizes = event.state === 'waiting_for_button' && this.lastHeadline;
    this.setStatus(keepSizes ? `${this.lastHeadline} — ${text}` : text, failed ? 'error' : event.state === 'running' ? 'ok' : 'busy');
    if (event.state === 'downloading' && Number.isFinite(event.progress)) {
      this.elements.progress.hidden = false;
      this.elements.progress.value = event.progress;
    }
  }

  finish() {
    this.tickElapsed();
    this.current = null;
    this.setBusy(false);
  }

  tickElapsed() {
    this.elements.elapsed.textContent = this.times.text(this.serverNow());
  }

  /** The terminal dropped the oldest lines of a long build: offer the whole stored log. */
  showFullLogLink() {
    if (this.shown) this.elements.fullLog.hidden = false;
  }

  async openFullLog() {
    const updateId = this.shown;
    if (!updateId) return;
    const tab = window.open('', '_blank'); // opened on the click itself, so pop-up blockers let it through
    try {
      const build = await this.api.build(updateId);
      const url = URL.createObjectURL(new Blob([build.log ?? ''], { type: 'text/plain;charset=utf-8' }));
      if (tab) tab.location.href = url;
      setTimeout(() => URL.revokeObjectURL(url), 60000);
    } catch (error) {
      tab?.close();
      this.setStatus(`Could not load the full log: ${error.message}`, 'error');
    }
  }

  setBusy(busy) {
    this.elements.verify.disabled = busy;
    this.elements.upload.disabled = busy;
    this.elements.cancel.hidden = !busy;
  }

  setStatus(text, kind) {
    this.elements.status.textContent = text;
    this.elements.status.dataset.kind = kind;
  }
}
