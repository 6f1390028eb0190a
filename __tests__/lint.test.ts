import { execFileSync } from 'child_process';
import * as path from 'path';

/*
 * `npm test` runs `npm run lint` (eslint + prettier --check) before jest. These probes run
 * the project's own eslint and prettier configs on text that breaks their rules, so a config
 * that silently stops reporting (a rule dropped, a glob that no longer matches lib/) fails here.
 * The probes lint text under the path of a real lib/ file (nothing is written to disk) in a
 * child process: ESLint loads its ESM config with import(), which jest's module loader refuses.
 */
const ROOT = path.resolve(__dirname, '..');

interface Probe {
  filePath: string;
  text: string;
}
interface Reported {
  ruleId: string | null;
  severity: number;
}

const PROBE_SCRIPT = `
const { ESLint } = require('eslint');
const prettier = require('prettier');
(async () => {
  const probes = JSON.parse(process.argv[1]);
  const eslint = new ESLint({ cwd: process.cwd() });
  const out = [];
  for (const p of probes) {
    const [result] = await eslint.lintText(p.text, { filePath: p.filePath });
    const options = await prettier.resolveConfig(p.filePath);
    out.push({
      messages: result.messages.map((m) => ({ ruleId: m.ruleId, severity: m.severity })),
      formatted: await prettier.check(p.text, { ...options, filepath: p.filePath }),
    });
  }
  process.stdout.write(JSON.stringify(out));
})().catch((e) => { console.error(e); process.exit(1); });
`;

function lint(probes: Probe[]): { messages: Reported[]; formatted: boolean }[] {
  const stdout = execFileSync(process.execPath, ['-e', PROBE_SCRIPT, JSON.stringify(probes)], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  return JSON.parse(stdout) as { messages: Reported[]; formatted: boolean }[];
}

const errorsOf = (messages: Reported[]) => messages.filter((m) => m.severity === 2).map((m) => m.ruleId);

describe('npm run lint', () => {
  // lib/errors.ts is imported at run time by lib/env/environment.ts: importing it back is a cycle.
  const FILE = path.join(ROOT, 'lib', 'errors.ts');
  let results: { messages: Reported[]; formatted: boolean }[];

  beforeAll(() => {
    results = lint([
      { filePath: FILE, text: `import { Environment } from './env/environment';\nexport const E = Environment;\n` },
      { filePath: FILE, text: `import type { Environment } from './env/environment';\nexport type E = Environment;\n` },
      { filePath: FILE, text: `export function identity(value: any): any {\n  return value;\n}\n` },
      { filePath: FILE, text: `export const quoted = "double";\n` },
    ]);
  }, 120_000);

  it('reports a run-time import cycle in lib/', () => {
    expect(errorsOf(results[0].messages)).toEqual(['import-x/no-cycle']);
  });

  it('does not count a type-only import as a cycle (it is erased, as in layout.test.ts)', () => {
    expect(errorsOf(results[1].messages)).toEqual([]);
  });

  it('reports an explicit any in lib/', () => {
    expect(errorsOf(results[2].messages)).toEqual([
      '@typescript-eslint/no-explicit-any',
      '@typescript-eslint/no-explicit-any',
    ]);
  });

  it('prettier --check flags code not in the project style, and passes code that is', () => {
    expect(results[3].formatted).toBe(false);
    expect(results.slice(0, 3).map((r) => r.formatted)).toEqual([true, true, true]);
  });
});
