/**
 * Bundle the editor page into static/dist/editor.js and editor.css, the classroom console's pages into console.js
 * and console.css, the class dashboard into dashboard.js and dashboard.css, the class assignments page into
 * assignments.js and the firmware page's live rollouts into firmware.js (minified, no source maps, no timestamps),
 * so the same sources always give the same bytes and the service needs no Node.js at run time.
 */
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const outdir = path.join(root, '..', 'static', 'dist');

await build({
  absWorkingDir: root,
  entryPoints: {
    editor: 'src/main.js',
    console: 'src/console/main.js',
    dashboard: 'src/dashboard/main.js',
    assignments: 'src/assignments.js',
    firmware: 'src/fleet/main.js',
  },
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
  outdir,
  sourcemap: false,
  legalComments: 'eof',
  charset: 'utf8',
  logLevel: 'info',
});
