/**
 * The class assignments page: create a starter, preview and hand it out, flash the class, freeze it, choose a
 * golden build and revert. Every name shown comes from the server and is set as text, never as HTML.
 */
import { createSender } from './ui/api.js';
import { ask } from './ui/dialogs.js';
import { byId, el } from './ui/dom.js';
import { actionLabel, planDetails, planHeading } from './lib/handout.js';

const POLL_MS = 1000;
const POLL_LIMIT = 900; // fifteen minutes of polling at most

const config = JSON.parse(byId('page-config').textContent);
const { request } = createSender(config.csrfToken);
const classUrl = `/api/classes/${encodeURIComponent(config.className)}`;
let pendingHandout = null;

function say(text, isError = false) {
  const message = byId('page-message');
  message.textContent = text;
  message.classList.toggle('error', isError);
}

/** Run an action, showing the server's error message instead of failing silently. */
async function attempt(action) {
  try {
    await action();
  } catch (error) {
    say(error.message, true);
  }
}

function fillSelect(select, options) {
  select.replaceChildren(...options.map(([value, label]) => el('option', { value }, label)));
}

function showConsole(state) {
  byId('freeze-state').value = state.freeze;
  byId('freeze-state').disabled = false; // enabled once the class's real state is shown, never before
  byId('btn-freeze').disabled = false;
  byId('freeze-message').textContent = state.freeze_states[state.freeze];
  showAssignments(state.assignments, state.modes);
  showGoldenChoices(state.builds, state.golden_build_id);
}

function showAssignments(assignments, modes) {
  const rows = assignments.map((assignment) => {
    const mode = el('select', { name: 'mode', 'aria-label': `Hand-out mode for ${assignment.title}` });
    fillSelect(mode, Object.entries(modes));
    mode.value = 'add';
    return el('tr', { 'data-assignment-id': assignment.id },
      el('td', {}, assignment.title),
      el('td', {}, assignment.files.join(', ')),
      el('td', {}, assignment.created_by),
      el('td', {}, mode),
      el('td', {},
        el('button', { type: 'button', className: 'preview', onclick: () => attempt(() => preview(assignment, mode.value)) },
          'Preview hand-out'),
        ' ',
        el('button', { type: 'button', className: 'delete', onclick: () => attempt(() => remove(assignment)) },
          'Delete')));
  });
  byId('assignment-list').tBodies[0].replaceChildren(...rows);
  byId('no-assignments').hidden = assignments.length > 0;
}

function buildLabel(build) {
  return `${build.product_id} · revision ${build.revision} · ${build.requested_by} · `
    + `${build.created_at.slice(0, 16).replace('T', ' ')} UTC`;
}

function showGoldenChoices(builds, goldenId) {
  const select = byId('golden-select');
  fillSelect(select, builds.map((build) => [build.update_id,
    buildLabel(build) + (build.update_id === goldenId ? ' (golden)' : '')]));
  const golden = builds.find((build) => build.update_id === goldenId);
  if (golden) select.value = goldenId;
  const empty = builds.length === 0;
  byId('btn-golden').disabled = empty;
  byId('btn-revert').disabled = empty;
  select.hidden = empty;
  byId('golden-current').textContent = empty
    ? 'No build of this class has produced firmware yet: flash the class or Upload from a bot first.'
    : golden ? `Golden build: ${buildLabel(golden)}` : goldenId ? 'The golden build is no longer among the recent builds.'
      : 'No golden build chosen yet.';
}

async function reload() {
  showConsole(await request('GET', `${classUrl}/assignments`));
}

async function preview(assignment, mode) {
  const plan = await request('POST', `${classUrl}/assignments/${assignment.id}/preview`, { mode });
  byId('preview-heading').textContent = planHeading(assignment.title, plan.bots);
  byId('preview-table').tBodies[0].replaceChildren(...plan.bots.map((bot) => el('tr', { 'data-product-id': bot.product_id },
    el('td', {}, bot.product_id),
    el('td', { className: `action ${bot.action}` }, actionLabel(bot.action)),
    el('td', {}, planDetails(bot)))));
  pendingHandout = { assignment, mode };
  byId('btn-handout-confirm').disabled = plan.changed === 0;
  byId('preview').hidden = false;
  byId('btn-handout-confirm').focus();
}

async function confirmHandout() {
  if (!pendingHandout) return;
  const { assignment, mode } = pendingHandout;
  const result = await request('POST', `${classUrl}/assignments/${assignment.id}/handout`, { mode });
  pendingHandout = null;
  byId('preview').hidden = true;
  say(`Handed out “${assignment.title}”: ${result.changed} of ${result.bots.length} bots got a new revision.`);
}

async function remove(assignment) {
  const agreed = await ask({
    title: `Delete the assignment “${assignment.title}”?`,
    message: "What it handed out stays in every bot's history.",
    okLabel: 'Delete assignment',
  });
  if (!agreed) return;
  await request('DELETE', `${classUrl}/assignments/${assignment.id}`);
  say(`Deleted “${assignment.title}”.`);
  await reload();
}

async function create(event) {
  event.preventDefault();
  const title = byId('new-title').value.trim();
  const source = byId('new-source').value;
  let created;
  if (source === 'zip') {
    const file = byId('new-zip').files[0];
    if (!file) throw new Error('Choose a .zip or .ino file first');
    const form = new FormData();
    form.append('title', title);
    form.append('file', file);
    created = await request('POST', `${classUrl}/assignments/upload`, form);
  } else {
    const body = { title, source };
    if (source === 'editor') body.product_id = byId('new-bot').value;
    else body.example_id = byId('new-example').value;
    created = await request('POST', `${classUrl}/assignments`, body);
  }
  say(`Created “${created.assignment.title}” with ${created.assignment.files.join(', ')}.`);
  byId('create-form').reset();
  showSourceField();
  await reload();
}

function showSourceField() {
  const source = byId('new-source').value;
  byId('new-bot').hidden = source !== 'editor';
  byId('new-example').hidden = source !== 'example';
  byId('new-zip').hidden = source !== 'zip';
}

async function setFreeze() {
  const result = await request('PUT', `${classUrl}/freeze`, { state: byId('freeze-state').value });
  byId('freeze-message').textContent = result.message;
  say(result.message);
}

async function flashClass() {
  const agreed = await ask({
    title: 'Flash the whole class?',
    message: "Every bot's current sketch is compiled (once per distinct sketch and board) and becomes its firmware.",
    okLabel: 'Flash the class',
  });
  if (!agreed) return;
  const result = await request('POST', `${classUrl}/flash`);
  byId('flash-summary').textContent = `${result.builds.length} bots, ${result.compiles} compile(s)`;
  const rows = new Map();
  byId('flash-table').tBodies[0].replaceChildren(...result.builds.map((build) => {
    const status = el('td', { className: 'status' }, 'Queued');
    rows.set(build.update_id, status);
    return el('tr', { 'data-product-id': build.product_id },
      el('td', {}, build.product_id),
      el('td', {}, build.compiled_by ? 'shared' : 'compiles'),
      status);
  }));
  byId('flash-table').hidden = false;
  await followBuilds(rows);
  await reload();
}

/** Poll each bot's build until all are finished (progress events per bot, in the progress API's shape). */
async function followBuilds(rows) {
  const open = new Set(rows.keys());
  for (let round = 0; open.size && round < POLL_LIMIT; round += 1) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    await Promise.all([...open].map(async (id) => {
      const progress = await request('GET', `/ota-update-progress/${encodeURIComponent(id)}`).catch((error) => error.data);
      if (!progress) return;
      rows.get(id).textContent = `${progress.status.replace('_', ' ')} · ${progress.message}`;
      if (progress.status === 'complete' || progress.status === 'error' || progress.status === 'not_found') open.delete(id);
    }));
  }
}

async function chooseGolden() {
  const result = await request('PUT', `${classUrl}/golden`, { update_id: byId('golden-select').value });
  say(`Golden build: ${result.golden_build_id}`);
  await reload();
}

async function revert() {
  const agreed = await ask({
    title: 'Revert the class?',
    message: 'Every bot of the class gets the chosen build as its firmware; a bot takes it when its button is pressed.',
    okLabel: 'Revert the class',
  });
  if (!agreed) return;
  const result = await request('POST', `${classUrl}/revert`, { update_id: byId('golden-select').value });
  byId('revert-table').tBodies[0].replaceChildren(...result.bots.map((bot) => el('tr', { 'data-product-id': bot.product_id },
    el('td', {}, bot.product_id),
    el('td', {}, bot.reverted ? `Reverted: ${bot.reason}` : `Skipped: ${bot.reason}`))));
  byId('revert-table').hidden = false;
  say(`Reverted ${result.bots.filter((bot) => bot.reverted).length} of ${result.bots.length} bots.`);
}

fillSelect(byId('new-bot'), config.bots.map((bot) => [bot, bot]));
fillSelect(byId('new-example'), config.examples.map((example) => [example.id, example.title]));
byId('new-source').addEventListener('change', showSourceField);
byId('create-form').addEventListener('submit', (event) => attempt(() => create(event)));
byId('btn-freeze').addEventListener('click', () => attempt(setFreeze));
byId('btn-handout-confirm').addEventListener('click', () => attempt(confirmHandout));
byId('btn-handout-cancel').addEventListener('click', () => { byId('preview').hidden = true; pendingHandout = null; });
byId('btn-flash').addEventListener('click', () => attempt(flashClass));
byId('btn-golden').addEventListener('click', () => attempt(chooseGolden));
byId('btn-revert').addEventListener('click', () => attempt(revert));
showSourceField();
attempt(reload);
