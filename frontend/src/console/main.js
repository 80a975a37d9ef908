/**
 * The classroom console's pages (classes, roster, cards, admin, audit log, account, firmware): server-rendered,
 * enhanced here.
 * Every change goes through the JSON API named on the control (data-api, data-method, data-body); secrets the
 * server returns once are shown in a dialog, and passwords are kept in this tab until the cards page shows them.
 */
import { el } from '../ui/dom.js';
import { ask, showModal } from '../ui/dialogs.js';
import { lastSeenText } from '../lib/format.js';
import { describePreview, generatedPasswords } from '../lib/rosterpreview.js';
import { createSender } from '../ui/api.js';
import { buttonBody, formBody } from '../lib/formbody.js';
import { rememberPasswords, takePasswords } from '../lib/cardpasswords.js';
import './console.css';

const TIME_REFRESH_MS = 10_000;
const FLASH_KEY = 'webide.console-message';
const csrfToken = document.querySelector('meta[name="csrf-token"]')?.content || '';
const className = document.querySelector('[data-class-name]')?.dataset.className || null;

const { send } = createSender(csrfToken);

/** One API call; resolves {ok, status, data} for every answer (status 0: the server could not be reached). */
async function call(method, url, body) {
  const { status, data } = await send(method, url, body);
  return { ok: status >= 200 && status < 300, status, data };
}

// --- messages and times -----------------------------------------------------------------------------------------

function showMessage(text, kind = 'ok') {
  const box = document.getElementById('page-message');
  if (!box) return;
  box.textContent = text;
  box.dataset.kind = kind;
  if (kind === 'error') box.setAttribute('role', 'alert');
}

/** Reload to show the new state, with a message for the reloaded page. */
function reloadWith(message) {
  if (message) sessionStorage.setItem(FLASH_KEY, message);
  window.location.reload();
}

function showFlashedMessage() {
  const message = sessionStorage.getItem(FLASH_KEY);
  if (message) {
    sessionStorage.removeItem(FLASH_KEY);
    showMessage(message);
  }
}

function refreshTimes() {
  const now = Date.now();
  for (const node of document.querySelectorAll('time[data-relative]')) {
    const text = lastSeenText(node.getAttribute('datetime'), now);
    if (text.endsWith(' ago')) node.textContent = text;
  }
}

// --- secrets shown once ------------------------------------------------------------------------------------------

let secretDialog = null;

function ensureSecretDialog() {
  if (secretDialog) return secretDialog;
  secretDialog = el('dialog', { id: 'secret-dialog', 'aria-labelledby': 'secret-title' },
    el('form', { method: 'dialog' },
      el('h2', { id: 'secret-title' }),
      el('p', { id: 'secret-warning', className: 'warning' }),
      el('dl', { id: 'secret-values' }),
      el('p', { className: 'subtle' }, 'Shown only now: write it down or print the card before you close this.'),
      el('div', { className: 'dialog-actions' },
        el('a', { id: 'secret-cards', href: '#', hidden: true }, 'Print credential cards'),
        el('button', { type: 'submit', id: 'secret-close', className: 'primary', value: 'close' }, 'Done'))));
  document.body.append(secretDialog);
  return secretDialog;
}

/** Show `entries` [{label, value, kind}] once; resolves when the dialog is closed. */
async function showSecrets(title, entries, warning = '') {
  const dialog = ensureSecretDialog();
  dialog.querySelector('#secret-title').textContent = title;
  const warningBox = dialog.querySelector('#secret-warning');
  warningBox.textContent = warning;
  warningBox.hidden = !warning;
  dialog.querySelector('#secret-values').replaceChildren(...entries.flatMap((entry) => [
    el('dt', {}, entry.label),
    el('dd', { 'data-secret': entry.kind, 'data-product-id': entry.productId }, el('code', {}, entry.value)),
  ]));
  const cards = dialog.querySelector('#secret-cards');
  cards.hidden = !(className && entries.some((entry) => entry.kind === 'password' && entry.productId));
  if (className) cards.href = `/classes/${encodeURIComponent(className)}/cards`;
  await showModal(dialog, dialog.querySelector('#secret-close'));
}

/** The secrets of one reply (a bot added, a password reset, a token issued, an account created). */
function secretsOf(reply, productId) {
  const entries = [];
  if (reply.password) entries.push({ label: productId ? `Password of ${productId}` : 'Password', value: reply.password, kind: 'password', productId });
  if (reply.device_token) entries.push({ label: 'Device token', value: reply.device_token, kind: 'device_token', productId });
  return entries;
}

// --- controls that call the API ------------------------------------------------------------------------------

function productIdOf(control, reply) {
  return reply?.product_id || control.closest('[data-product-id]')?.dataset.productId || null;
}

async function finish(control, reply, sent) {
  const productId = productIdOf(control, reply);
  const password = reply.password || (reply.product_id && sent.password) || null;
  if (className && productId && password) rememberPasswords(sessionStorage, className, { [productId]: password });
  const secrets = secretsOf(reply, productId);
  if (secrets.length) await showSecrets(control.dataset.secretTitle || 'Write this down now', secrets, reply.warning || '');
  reloadWith(control.dataset.done || doneText(control));
}

function doneText(control) {
  const label = (control.dataset.ok || control.querySelector?.('button[type=submit]')?.textContent || control.textContent || '')
    .replace('…', '').trim();
  return label ? `${label}: done.` : 'Done.';
}

async function confirmed(control) {
  if (!control.dataset.confirm) return true;
  return ask({ title: control.dataset.ok || 'Are you sure?', message: control.dataset.confirm, okLabel: control.dataset.ok || 'OK' });
}

async function runButton(button) {
  let value = null;
  if (button.dataset.ask) {
    value = await ask({
      title: button.dataset.ask,
      okLabel: button.dataset.ok || 'OK',
      input: { label: button.dataset.ask, value: button.dataset.askValue || '', validate: (text) => (text ? null : 'Enter a value') },
    });
    if (value === null) return;
  }
  if (!(await confirmed(button))) return;
  const method = button.dataset.method || 'POST';
  const body = button.dataset.body || button.dataset.askField ? buttonBody(button.dataset.body, button.dataset.askField, value) : undefined;
  button.disabled = true;
  const { ok, data } = await call(method, button.dataset.api, body);
  button.disabled = false;
  if (!ok) {
    showMessage(data.error || 'That did not work', 'error');
    return;
  }
  await finish(button, data, body || {});
}

async function runForm(form) {
  const error = form.querySelector('.form-error');
  if (error) error.textContent = '';
  const repeat = form.querySelector('[data-repeat-of]');
  if (repeat && repeat.value !== form.elements[repeat.dataset.repeatOf].value) {
    if (error) error.textContent = 'The two new passwords differ.';
    repeat.focus();
    return;
  }
  const body = 'multipart' in form.dataset ? new FormData(form) : formBody([...form.elements]
    .filter((field) => field.name && !field.disabled)
    .map(({ name, value, type, checked, required }) => ({ name, value, type, checked, required })));
  const submit = form.querySelector('button[type=submit]');
  if (submit) submit.disabled = true;
  const { ok, data } = await call(form.dataset.method || 'POST', form.dataset.api, body);
  if (submit) submit.disabled = false;
  if (!ok) {
    if (error) error.textContent = data.error || 'That did not work';
    else showMessage(data.error || 'That did not work', 'error');
    return;
  }
  await finish(form, data, body);
}

async function downloadFile(button) {
  if (!(await confirmed(button))) return;
  button.disabled = true;
  let response;
  try {
    response = await fetch(button.dataset.download, {
      method: 'POST',
      headers: { 'X-CSRFToken': csrfToken, 'Content-Type': 'application/json' },
      body: button.dataset.body || '{}',
      credentials: 'same-origin',
    });
  } catch {
    response = null;
  } finally {
    button.disabled = false;
  }
  if (!response || !response.ok) {
    const data = response ? await response.json().catch(() => ({})) : {};
    showMessage(data.error || 'The server cannot be reached; check the connection and try again', 'error');
    return;
  }
  const name = /filename="?([^";]+)"?/.exec(response.headers.get('Content-Disposition') || '')?.[1] || 'download';
  const link = el('a', { href: URL.createObjectURL(await response.blob()), download: name });
  document.body.append(link);
  link.click();
  link.remove();
  showMessage(`Downloaded ${name}. The bot's previous device token no longer works: flash the bot with this kit.`);
}

// --- roster import ---------------------------------------------------------------------------------------------

function setUpRosterImport(panel) {
  const fileInput = panel.querySelector('#roster-file');
  const board = panel.querySelector('#roster-board');
  const previewButton = panel.querySelector('#btn-roster-preview');
  const importButton = panel.querySelector('#btn-roster-import');
  const summary = panel.querySelector('#roster-summary');
  const table = panel.querySelector('#roster-preview');
  const url = (preview) => `${panel.dataset.importUrl}?preview=${preview}&fqbn=${encodeURIComponent(board.value)}`;
  const upload = () => {
    const form = new FormData();
    form.append('file', fileInput.files[0]);
    return form;
  };
  const reset = () => {
    importButton.disabled = true;
    importButton.textContent = 'Import';
    table.replaceChildren();
    summary.textContent = '';
    summary.dataset.kind = '';
  };
  const say = (text, kind) => {
    summary.textContent = text;
    summary.dataset.kind = kind;
  };
  fileInput.addEventListener('change', reset);
  board.addEventListener('change', reset);

  previewButton.addEventListener('click', async () => {
    reset();
    if (!fileInput.files.length) {
      say('Choose a CSV file first.', 'error');
      fileInput.focus();
      return;
    }
    const { ok, data } = await call('POST', url(true), upload());
    if (!ok) {
      say(data.error || 'The file could not be checked', 'error');
      return;
    }
    const preview = describePreview(data);
    say(preview.summary, preview.canImport ? 'ok' : 'error');
    table.replaceChildren(previewTable(preview.rows));
    importButton.disabled = !preview.canImport;
    if (preview.canImport) {
      importButton.textContent = `Import ${preview.rows.length} bot${preview.rows.length === 1 ? '' : 's'}`;
      importButton.focus();
    }
  });

  importButton.addEventListener('click', async () => {
    importButton.disabled = true;
    const { ok, data } = await call('POST', url(false), upload());
    if (!ok) {
      say(data.error || 'Nothing was imported', 'error');
      if (data.rows) table.replaceChildren(previewTable(describePreview({ rows: data.rows }).rows));
      return;
    }
    const passwords = generatedPasswords(data.created);
    rememberPasswords(sessionStorage, className, passwords);
    const entries = data.created.map((bot) => ({
      label: bot.product_id,
      value: bot.password || 'password from the file',
      kind: bot.password ? 'password' : 'given',
      productId: bot.product_id,
    }));
    const imported = `${data.created.length} bot${data.created.length === 1 ? '' : 's'} imported`;
    await showSecrets(imported, entries,
      'Each bot also got a device token; its first-flash kit (roster page) issues the one it will use.');
    reloadWith(`${imported}.`);
  });
}

function previewTable(rows) {
  return el('table', { className: 'grid preview' },
    el('caption', {}, 'Check of each row'),
    el('thead', {}, el('tr', {}, ...['Line', 'Product ID', 'Name', 'Password', 'Verdict'].map((title) => el('th', { scope: 'col' }, title)))),
    el('tbody', {}, ...rows.map((row) => el('tr', {
      'data-line': row.line, 'data-ok': String(row.ok), className: row.ok ? 'row-ok' : 'row-bad',
    },
    el('td', {}, String(row.line)),
    el('td', {}, row.productId),
    el('td', {}, row.name),
    el('td', {}, row.password),
    el('td', { className: 'verdict' }, row.ok ? '✓ ready' : `✗ ${row.problems}`)))));
}

// --- cards ---------------------------------------------------------------------------------------------------

function fillCardPasswords() {
  const passwords = takePasswords(sessionStorage, className);
  let shown = 0;
  for (const slot of document.querySelectorAll('[data-password-for]')) {
    const password = passwords[slot.dataset.passwordFor];
    if (password) {
      slot.textContent = password;
      slot.classList.add('fresh');
      shown += 1;
    }
  }
  const note = document.getElementById('cards-note');
  if (note && shown) note.textContent = `${shown} password${shown === 1 ? '' : 's'} filled in from this tab; they will not be shown again after you leave this page.`;
  document.getElementById('btn-print')?.addEventListener('click', () => window.print());
}

// --- start ---------------------------------------------------------------------------------------------------

function start() {
  showFlashedMessage();
  refreshTimes();
  setInterval(refreshTimes, TIME_REFRESH_MS);
  document.addEventListener('click', (event) => {
    const button = event.target.closest('button[data-api], button[data-download]');
    if (!button) return;
    event.preventDefault();
    (button.dataset.download ? downloadFile(button) : runButton(button));
  });
  document.addEventListener('submit', (event) => {
    const form = event.target.closest('form[data-api]');
    if (!form) return;
    event.preventDefault();
    runForm(form);
  });
  const importPanel = document.getElementById('import-panel');
  if (importPanel) setUpRosterImport(importPanel);
  if (document.querySelector('.cards-page')) fillCardPasswords();
  document.documentElement.dataset.console = 'ready'; // for people's scripts and browser tests: controls work now
}

start();
