/**
 * Finding compiler locations (`file:line:col`) in terminal lines so they can become clickable links.
 */

const LOCATION = /((?:[^\s:'"`()<>]*[\\/])?([A-Za-z0-9_.-]+\.(?:ino|hpp|h|cpp|c|S))):(\d+)(?::(\d+))?/g;

/**
 * Locations in one line of terminal text that point at files of the sketch.
 * Returns [{start, end, file, line, column}] with 0-based start and exclusive end string indexes.
 */
export function findLocations(lineText, fileNames) {
  const found = [];
  for (const match of lineText.matchAll(LOCATION)) {
    const file = match[2];
    if (!fileNames.includes(file)) continue;
    found.push({
      start: match.index,
      end: match.index + match[0].length,
      file,
      line: Number(match[3]),
      column: match[4] === undefined ? 0 : Number(match[4]),
    });
  }
  return found;
}
