// ESLint flat config (ESLint 9). `npm run lint` runs it with `prettier --check`;
// __tests__/lint.test.ts proves it still reports what it must.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import prettier from 'eslint-config-prettier';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import { importX } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

const TS = ['lib/**/*.ts', '__tests__/**/*.ts', 'examples/**/*.ts', 'benchmarks/**/*.ts', 'scripts/**/*.ts'];

/** Node's globals, for the few plain JavaScript files (reporter, configs). */
const nodeGlobals = Object.fromEntries(
  [
    ...['require', 'module', 'exports', '__dirname', '__filename'],
    ...['process', 'console', 'Buffer', 'URL', 'setTimeout', 'clearTimeout', 'setImmediate', 'structuredClone'],
  ].map((g) => [g, 'readonly']),
);

export default defineConfig(
  { ignores: ['dist/', 'node_modules/', 'coverage/', '.mariadb/', '.scratch/', 'examples/chinook/data/'] },
  // TypeScript consumers of the packed tarball: compiled in their own projects by consumers.test.ts
  // (here 'proxorm' does not resolve, so type-aware rules would judge error types).
  { ignores: ['__tests__/fixtures/consumers/**/*.ts'] },
  js.configs.recommended,
  {
    files: TS,
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // `_`-prefixed names are deliberately unused (destructuring to drop a key, unused parameters).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' },
      ],
      // A caught error is passed on as it came (its type is unknown, not necessarily an Error).
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
      '@typescript-eslint/only-throw-error': ['error', { allowThrowingUnknown: true }],
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        {
          // Error messages name domain terms through TermLabel, whose toString builds the text
          // only when a message is made (a term may hold 200,000 values).
          allow: [
            { from: 'lib', name: ['Error', 'URL', 'URLSearchParams'] },
            { from: 'file', name: 'TermLabel', path: 'lib/query/domain.ts' },
          ],
        },
      ],
    },
  },
  {
    // Tests and benchmarks read raw rows through knex and drivers, which type them `any`, and
    // feed deliberately ill-typed input to the library: the no-unsafe-* family would flag
    // every such line. The library itself keeps them.
    files: ['__tests__/**/*.ts', 'benchmarks/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // `async () => value` is how a test hands over a function that returns a promise (and
      // rejects rather than throws), whether or not it awaits anything.
      '@typescript-eslint/require-await': 'off',
      // jest.isolateModules loads a fresh copy of the library: a synchronous require.
      '@typescript-eslint/no-require-imports': ['error', { allow: ['^\\.\\./lib$'] }],
    },
  },
  {
    // The library: no `any` on what users see, and data flows one way (no run-time import
    // cycle; `import type` is erased, so it cannot make one: the same rule as layout.test.ts).
    files: ['lib/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      // import-x parses only the extensions it is told about: without these it skips .ts files
      // and no-cycle finds nothing (lint.test.ts guards this).
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: 'tsconfig.json' })],
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      'import-x/no-cycle': 'error',
    },
  },
  {
    // .js keeps ESLint's default parsing (a module; CommonJS code parses as one too).
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: nodeGlobals },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: nodeGlobals },
  },
  // Last: turns off the stylistic rules that would fight prettier.
  prettier,
);
