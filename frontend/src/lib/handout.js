/**
 * Words for what a hand-out does to one bot, from the server's plan (see POST …/assignments/<id>/preview).
 */

const ACTION_WORDS = { replace: 'Replaced', add: 'New tabs', skip: 'Unchanged' };

/** The short label of a plan's action. */
export function actionLabel(action) {
  return ACTION_WORDS[action] || action;
}

/** One sentence listing the files a bot gains, loses (kept in its history) and keeps, or why it is unchanged. */
export function planDetails(plan) {
  const parts = [];
  if (plan.added.length) parts.push(`adds ${plan.added.join(', ')}`);
  if (plan.removed.length) parts.push(`removes ${plan.removed.join(', ')} (kept in the history)`);
  if (plan.kept.length) parts.push(`keeps the student's ${plan.kept.join(', ')}`);
  if (plan.reason) parts.push(plan.reason);
  const text = parts.join('; ');
  return text ? text[0].toUpperCase() + text.slice(1) : '';
}

/** "3 of 5 bots change" for the preview's heading. */
export function planHeading(title, plans) {
  const changing = plans.filter((plan) => plan.action !== 'skip').length;
  return `Handing out “${title}”: ${changing} of ${plans.length} bots change`;
}
