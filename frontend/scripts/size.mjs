/**
 * Print the gzipped size of each page's first load (JS + CSS: the editor, the class dashboard) and fail when one
 * exceeds its budget.
 */
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const PAGES = { editor: 400 * 1024, dashboard: 150 * 1000 };
const dist = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'static', 'dist');

let over = false;
for (const [page, budget] of Object.entries(PAGES)) {
  let total = 0;
  for (const name of [`${page}.js`, `${page}.css`]) {
    const raw = readFileSync(path.join(dist, name));
    const gzipped = gzipSync(raw, { level: 9 }).length;
    total += gzipped;
    console.log(`${name.padEnd(14)} ${kib(raw.length).padStart(9)} raw  ${kib(gzipped).padStart(9)} gzipped`);
  }
  console.log(`${page} first load ${kib(total).padStart(16)} gzipped (budget ${kib(budget)})`);
  over ||= total > budget;
}
if (over) {
  console.error('Over budget');
  process.exit(1);
}

function kib(bytes) {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}
