// The rules the server sends with the page, as a test fixture (tests/test_shared_names.py keeps it equal to the server's).
import { readFileSync } from 'node:fs';
import { configureShared } from '../src/lib/shared.js';

configureShared(JSON.parse(readFileSync(new URL('./shared-rules.json', import.meta.url), 'utf8')));
