import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

/*
 * The README's promises about itself: its first program is a real, type-checked file
 * (examples/first-model.ts, compiled by `npm run typecheck`) that prints what the README
 * says, and the contributor material lives in CONTRIBUTING.md, not twice.
 */
const ROOT = path.resolve(__dirname, '..');
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');

/** The first ```ts block after a `## heading` line. */
function codeBlockAfter(markdown: string, heading: string): string {
  const start = markdown.indexOf(`\n## ${heading}\n`);
  expect(start).toBeGreaterThan(-1);
  const block = /```ts\n([\s\S]*?)```/.exec(markdown.slice(start));
  if (!block) throw new Error(`no ts block after "## ${heading}"`);
  return block[1];
}

describe('README', () => {
  const readme = read('README.md');

  it('shows examples/first-model.ts as its first program, importing the package by name', () => {
    const shown = codeBlockAfter(readme, 'A first model');
    expect(shown).toContain("from 'proxorm';");
    expect(read('examples/first-model.ts').endsWith(shown.replace("from 'proxorm';", "from '../lib';"))).toBe(true);
  });

  it('first program prints the values and the query count the README gives', () => {
    const out = execFileSync(process.execPath, ['-r', 'ts-node/register', 'examples/first-model.ts'], {
      cwd: ROOT,
      encoding: 'utf8',
      // Type-checked by `npm run typecheck` already; here only run.
      env: { ...process.env, TS_NODE_TRANSPILE_ONLY: '1' },
    });
    expect(out.trimEnd().split('\n')).toEqual(['Bob 2500', 'Ann 1200', '3', "[ 'done', 'done' ]"]);
    const shown = codeBlockAfter(readme, 'A first model');
    expect(shown).toContain('// Bob 2500, then Ann 1200');
    expect(shown).toContain('// 3: the search');
    expect(shown).toContain("// [ 'done', 'done' ]");
  });

  it('has one Layout section across README.md and CONTRIBUTING.md, in CONTRIBUTING.md', () => {
    const headings = (text: string) => text.split('\n').filter((line) => line === '## Layout').length;
    expect(headings(readme)).toBe(0);
    expect(headings(read('CONTRIBUTING.md'))).toBe(1);
  });

  it('gives the two commands for a fresh machine', () => {
    expect(readme).toContain('npm ci && npm start');
    expect(readme).toContain('npm test');
  });
});
