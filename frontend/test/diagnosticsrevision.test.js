import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  NO_DIAGNOSTICS, diagnosticsArrived, diagnosticsByFile, revisionDisplayed,
} from '../src/lib/diagnostics.js';

const REVISION_3 = [{ name: 'bot.ino', content: 'void setup() {\n  go();\n}\nvoid loop() {}\n' }];
// the student's save: two lines on top, and an error on line 3
const REVISION_4 = [{ name: 'bot.ino', content: '// my note\n// more\nint x = ;\nvoid setup() {\n  go();\n}\nvoid loop() {}\n' }];
const ERROR_IN_4 = [{ file: 'bot.ino', line: 3, column: 9, severity: 'error', message: "expected expression before ';'" }];
const ERROR_IN_3 = [{ file: 'bot.ino', line: 2, column: 3, severity: 'error', message: "'go' was not declared" }];

/**
 * The teacher's editor as the page drives it: it shows one revision's files, keeps the raw diagnostics it was
 * given and, like the real editor, draws them again on whatever text setFiles puts in.
 */
class View {
  constructor(revision, files) {
    Object.assign(this, { revision, files, raw: [], gate: NO_DIAGNOSTICS });
  }

  step({ state, draw }) {
    this.gate = state;
    if (draw) this.raw = draw;
  }

  buildFinished(revision, diagnostics) {
    this.step(diagnosticsArrived(this.gate, revision, diagnostics, this.revision));
  }

  showRevision(revision, files) {
    Object.assign(this, { revision, files }); // setFiles draws the raw diagnostics on the new text at once
    this.step(revisionDisplayed(this.gate, revision));
  }

  /** The text under each marker, and its line. */
  markers() {
    const text = this.files[0].content;
    return diagnosticsByFile(this.raw, this.files)['bot.ino'].map(({ from, to }) => ({
      text: text.slice(from, to),
      line: text.slice(0, from).split('\n').length,
    }));
  }
}

test("a teacher behind the student's save draws the error only once it shows that revision, on its line", () => {
  const teacher = new View(3, REVISION_3);
  teacher.buildFinished(4, ERROR_IN_4);
  assert.deepEqual(teacher.markers(), [], 'nothing is drawn on revision 3 (its line 3 is "}")');
  teacher.showRevision(4, REVISION_4);
  assert.deepEqual(teacher.markers(), [{ text: ';', line: 3 }]);
  assert.deepEqual(teacher.gate, { drawn: 4, waiting: null });
});

test('a result for the revision shown is drawn at once', () => {
  const student = new View(4, REVISION_4);
  student.buildFinished(4, ERROR_IN_4);
  assert.deepEqual(student.markers(), [{ text: ';', line: 3 }]);
});

test("the markers of the revision shown stay while a newer revision's result waits", () => {
  const teacher = new View(3, REVISION_3);
  teacher.buildFinished(3, ERROR_IN_3);
  teacher.buildFinished(4, ERROR_IN_4);
  assert.deepEqual(teacher.markers(), [{ text: 'go', line: 2 }]);
  teacher.showRevision(4, REVISION_4);
  assert.deepEqual(teacher.markers(), [{ text: ';', line: 3 }]);
});

test('moving to a revision that is neither drawn nor waited for clears the old markers', () => {
  const teacher = new View(3, REVISION_3);
  teacher.buildFinished(3, ERROR_IN_3);
  teacher.buildFinished(5, ERROR_IN_4);
  teacher.showRevision(4, REVISION_4); // setFiles alone would draw line 2 of revision 3 on revision 4's text
  assert.deepEqual(teacher.markers(), []);
  assert.deepEqual(teacher.gate.waiting, { revision: 5, diagnostics: ERROR_IN_4 }, 'revision 5 still waits');
  teacher.showRevision(5, REVISION_4);
  assert.deepEqual(teacher.markers(), [{ text: ';', line: 3 }]);
});

test("an older revision's result never replaces a newer one that waits, and is never drawn", () => {
  const teacher = new View(3, REVISION_3);
  teacher.buildFinished(5, ERROR_IN_4);
  teacher.buildFinished(2, ERROR_IN_3);
  assert.deepEqual(teacher.markers(), []);
  assert.equal(teacher.gate.waiting.revision, 5);
});

test("an older revision's result leaves the shown revision's markers alone", () => {
  const student = new View(4, REVISION_4);
  student.buildFinished(4, ERROR_IN_4);
  student.buildFinished(3, ERROR_IN_3);
  assert.deepEqual(student.markers(), [{ text: ';', line: 3 }]);
});

test('a result without a revision, or a page that tracks none, draws at once', () => {
  const view = new View(undefined, REVISION_4);
  view.buildFinished(4, ERROR_IN_4);
  assert.deepEqual(view.markers(), [{ text: ';', line: 3 }]);
  const other = new View(4, REVISION_4);
  other.buildFinished(undefined, ERROR_IN_4);
  assert.deepEqual(other.markers(), [{ text: ';', line: 3 }]);
});

test('a waiting result is dropped once a newer revision is shown', () => {
  const teacher = new View(3, REVISION_3);
  teacher.buildFinished(4, ERROR_IN_4);
  teacher.showRevision(6, REVISION_4);
  assert.deepEqual(teacher.markers(), []);
  assert.deepEqual(teacher.gate, { drawn: null, waiting: null });
});
