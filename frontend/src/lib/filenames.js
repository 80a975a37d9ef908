/** Sketch file-name rules, as the server's sketch validation applies them (they come with the page). */

import { sharedRules } from './shared.js';

/** The extension including its dot (".cpp"), or "" when the name has none. */
export function extensionOf(name) {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(dot) : '';
}

/** The main file of a sketch is the .ino named after the sketch folder. */
export function mainFileName(sketchName) {
  return `${sketchName}.ino`;
}

/**
 * Return a message explaining why `name` cannot be used for a new or renamed tab, or null when it is fine.
 * `existingNames` are the other tabs; duplicates are compared ignoring case like the server does.
 */
export function fileNameProblem(name, existingNames = []) {
  if (!name) return 'Enter a file name';
  const { fileNamePattern, allowedExtensions, forbiddenNames } = sharedRules();
  const forbidden = forbiddenNames[name.toLowerCase()];
  if (forbidden) return `File "${name}" is not allowed in a sketch: ${forbidden}`;
  if (name.includes('/') || name.includes('\\')) return `File name "${name}" must not contain a path separator`;
  if (name.startsWith('.')) return `File name "${name}" must not start with a dot`;
  if (fileNamePattern && !fileNamePattern.test(name)) return `File name "${name}" may only use A-Z a-z 0-9 _ . -`;
  if (!allowedExtensions.includes(extensionOf(name))) {
    return `File "${name}" has an unsupported extension (allowed: ${allowedExtensions.join(' ')})`;
  }
  const folded = name.toLowerCase();
  const clash = existingNames.find((other) => other.toLowerCase() === folded);
  if (clash !== undefined) return `A file named "${clash}" already exists`;
  return null;
}

/** Why the tab `name` cannot be deleted or renamed, or null when it can. */
export function protectedFileProblem(name, sketchName) {
  return name === mainFileName(sketchName) ? `The main file "${name}" cannot be deleted or renamed` : null;
}

/** Order tabs the way the Arduino IDE does: the main sketch first, then the others alphabetically. */
export function sortTabNames(names, sketchName) {
  const main = mainFileName(sketchName);
  return [...names].sort((a, b) => {
    if (a === main) return -1;
    if (b === main) return 1;
    return a.localeCompare(b);
  });
}

/**
 * Examples are opened as a copy into this bot's sketch, whose main file is named after the sketch: the example's
 * main .ino (its first .ino by name) is renamed to it; the other tabs keep their names.
 */
export function adaptExampleFiles(files, sketchName) {
  const main = mainFileName(sketchName);
  if (files.some((file) => file.name === main)) return files.map(({ name, content }) => ({ name, content }));
  const [exampleMain] = files.filter((file) => extensionOf(file.name) === '.ino')
    .sort((a, b) => (a.name < b.name ? -1 : 1));
  return files.map(({ name, content }) => ({ name: exampleMain && name === exampleMain.name ? main : name, content }));
}
