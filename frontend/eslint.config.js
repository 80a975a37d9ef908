// ESLint for the editor's sources and tests (run by the test command through tests/test_frontend_units.py).
import js from '@eslint/js';
import globals from 'globals';

export default [
  { ignores: ['node_modules/', '../static/'] },
  js.configs.recommended,
  {
    files: ['src/**/*.js'],
    languageOptions: { ecmaVersion: 2022, sourceType: 'module', globals: globals.browser },
  },
  {
    files: ['test/**/*.js', 'scripts/**/*.mjs', 'eslint.config.js'],
    languageOptions: { ecmaVersion: 2022, sourceType: 'module', globals: globals.node },
  },
];
