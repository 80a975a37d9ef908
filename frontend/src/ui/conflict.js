/**
 * The save-conflict dialog: someone saved the sketch after this page loaded it. Shows their text against the
 * editor's and lets the user keep theirs (force) or take the server's.
 */
import { diffFileSets } from '../lib/diff.js';
import { byId } from './dom.js';
import { renderDiff, showModal } from './dialogs.js';

/** Show the conflict; resolves 'mine' or 'theirs' (closing the dialog any other way means 'later'). */
export async function resolveConflict(current, mine) {
  const dialog = byId('conflict-dialog');
  byId('conflict-summary').textContent = `Revision #${current.revision} was saved elsewhere (another tab or person) `
    + 'after this page loaded the sketch. Choose which text to keep.';
  renderDiff(byId('conflict-diff'), diffFileSets(current.files, mine),
    { before: `saved revision #${current.revision}`, after: 'your editor' });
  const choice = await showModal(dialog, byId('conflict-keep-mine'));
  return choice === 'mine' || choice === 'theirs' ? choice : 'later';
}
