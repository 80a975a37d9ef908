import { test } from 'node:test';
import assert from 'node:assert/strict';
import { actionLabel, planDetails, planHeading } from '../src/lib/handout.js';

const plan = (fields) => ({ action: 'add', added: [], removed: [], kept: [], reason: '', ...fields });

test('a plan lists what the bot gains and what of the student stays', () => {
  assert.equal(planDetails(plan({ added: ['motor.h'], kept: ['bot_1.ino'] })),
    "Adds motor.h; keeps the student's bot_1.ino");
  assert.equal(planDetails(plan({ action: 'replace', removed: ['helper.cpp'] })),
    'Removes helper.cpp (kept in the history)');
});

test('a skipped bot says why', () => {
  assert.equal(planDetails(plan({ action: 'skip', reason: 'Edited by the student' })), 'Edited by the student');
  assert.equal(actionLabel('skip'), 'Unchanged');
  assert.equal(actionLabel('other'), 'other');
});

test('the heading counts the bots that change', () => {
  const plans = [plan({}), plan({ action: 'skip' }), plan({ action: 'replace' })];
  assert.equal(planHeading('Motors', plans), 'Handing out “Motors”: 2 of 3 bots change');
});
