/**
 * Print the gzipped size of the editor page's first load (JS + CSS) and fail when it exceeds the budget.
 */
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const BUDGET_BYTES = 400 * 1024;
const dist = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'static', 'dist');

let total = 0;
for (const name of ['editor.js', 'editor.css']) {
  const raw = readFileSync(path.join(dist, name));
  const gzipped = gzipSync(raw, { level: 9 }).length;
  total += gzipped;
  console.log(`${name.padEnd(11)} ${kib(raw.length).padStart(9)} raw  ${kib(gzipped).padStart(9)} gzipped`);
}
console.log(`first load  ${kib(total).padStart(24)} gzipped (budget ${kib(BUDGET_BYTES)})`);
if (total > BUDGET_BYTES) {
  console.error('Over budget');
  process.exit(1);
}

function kib(bytes) {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}
