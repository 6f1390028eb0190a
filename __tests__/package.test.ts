import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/*
 * The package as a user installs it: `npm pack` (its prepack builds dist/), the tarball
 * installed once into one temporary project, and four programs compiled and run against
 * it: TypeScript with legacy decorators, TypeScript with TC39 decorators (ESM), ESM
 * JavaScript and CommonJS JavaScript (__tests__/fixtures/consumers/). Nothing is written
 * into the repository: the packing runs in a copy of it under os.tmpdir().
 */
const ROOT = path.resolve(__dirname, '..');
const CONSUMERS = path.join(__dirname, 'fixtures', 'consumers');
const TSC = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
// Not copied into the packing copy: installed or generated things, and the repository's own data.
const NOT_COPIED = new Set(['node_modules', '.git', 'dist', '.mariadb', 'coverage', '.scratch', '.jest-summary.json']);

interface Run {
  command: string;
  status: number | null;
  output: string;
}

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Run {
  const r = spawnSync(command, args, { cwd, env, encoding: 'utf8', timeout: 150_000 });
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? `\n${String(r.error)}` : ''}`;
  return { command: `${command} ${args.join(' ')} (in ${cwd})`, status: r.status, output };
}

/** Throws with the command and all it printed, so a failed setup step says why. */
function mustRun(command: string, args: string[], cwd: string, env?: NodeJS.ProcessEnv): Run {
  const r = run(command, args, cwd, env);
  if (r.status !== 0) throw new Error(`${r.command} exited with ${r.status}:\n${r.output}`);
  return r;
}

let tmp: string;
let app: string;
let tarballFiles: string[];
let installOutput: string;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'proxorm-package-'));
  const src = path.join(tmp, 'src');
  fs.cpSync(ROOT, src, { recursive: true, filter: (from) => !NOT_COPIED.has(path.relative(ROOT, from)) });
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(src, 'node_modules'), 'dir');

  mustRun('npm', ['pack', '--pack-destination', tmp], src);
  const { version } = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const tarball = path.join(tmp, `proxorm-${version}.tgz`);
  tarballFiles = mustRun('tar', ['-tzf', tarball], tmp).output.split('\n').filter(Boolean);

  app = path.join(tmp, 'app');
  fs.mkdirSync(app);
  // What the README tells a user: better-sqlite3's install script is allowed (npm 11 warns otherwise).
  fs.writeFileSync(
    path.join(app, 'package.json'),
    JSON.stringify({
      name: 'proxorm-consumer',
      version: '1.0.0',
      private: true,
      allowScripts: { 'better-sqlite3': true },
    }),
  );
  // better-sqlite3 compiles from source for minutes on a busy machine: install without
  // scripts, then reuse the repository's compiled binding when it is the same version.
  installOutput = mustRun(
    'npm',
    ['install', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts', tarball],
    app,
  ).output;
  provideSqliteBinding(app);

  for (const name of fs.readdirSync(CONSUMERS))
    fs.cpSync(path.join(CONSUMERS, name), path.join(app, name), { recursive: true });
}, 170_000);

afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/**
 * The repository's binding is reused only when it is the same better-sqlite3 version and
 * it loads, in the consumers' project, under the Node that runs them (a binding built by
 * another Node has another ABI: it must not turn into four consumer failures); otherwise
 * the project builds its own.
 */
function provideSqliteBinding(project: string): void {
  const version = (dir: string) =>
    (JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string }).version;
  const mine = path.join(ROOT, 'node_modules', 'better-sqlite3');
  const theirs = path.join(project, 'node_modules', 'better-sqlite3');
  const binding = path.join('build', 'Release', 'better_sqlite3.node');
  if (version(mine) === version(theirs) && fs.existsSync(path.join(mine, binding))) {
    fs.mkdirSync(path.dirname(path.join(theirs, binding)), { recursive: true });
    fs.copyFileSync(path.join(mine, binding), path.join(theirs, binding));
    if (sqliteLoads(project)) return;
  }
  mustRun('npm', ['rebuild', 'better-sqlite3'], project, { ...process.env, npm_config_build_from_source: 'true' });
}

/** Whether `project`'s better-sqlite3 opens a database under this Node (process.execPath, which runs the consumers). */
function sqliteLoads(project: string): boolean {
  const probe = "new (require('better-sqlite3'))(':memory:').prepare('select 1').get()";
  return run(process.execPath, ['-e', probe], project).status === 0;
}

/** Compiles a TypeScript consumer with the repository's tsc (typescript is not installed in the project). */
function compile(consumer: string): Run {
  return run(process.execPath, [TSC, '-p', path.join(app, consumer)], app);
}

function start(file: string): Run {
  return run(process.execPath, [file], path.dirname(file));
}

/** The lines a consumer printed, for exact comparison; status and output show on failure. */
function outcome(r: Run): { status: number | null; lines: string[] } {
  return { status: r.status, lines: r.output.split('\n').filter(Boolean) };
}

describe('npm pack', () => {
  it('ships the CommonJS build, its ES module wrapper and their types; no sources, maps, tests, examples or benchmarks', () => {
    for (const f of [
      'package/dist/index.js',
      'package/dist/index.d.ts',
      'package/dist/index.mjs',
      'package/dist/index.d.mts',
      'package/package.json',
      'package/README.md',
      'package/LICENSE',
    ]) {
      expect(tarballFiles).toContain(f);
    }
    const stray = tarballFiles.filter(
      (f) => !/^package\/(dist\/.+\.(js|mjs|d\.ts|d\.mts)|package\.json|README\.md|LICENSE)$/.test(f),
    );
    expect(stray).toEqual([]);
  });

  it('installs without mysql2, an optional peer dependency', () => {
    expect(fs.existsSync(path.join(app, 'node_modules', 'mysql2'))).toBe(false);
    expect(installOutput).not.toMatch(/mysql2/);
  });

  it('leaves no install script unreviewed once better-sqlite3 is allowed as the README says', () => {
    // npm 11 lists install scripts not covered by the project's allowScripts (npm 12 will not run them).
    expect(mustRun('npm', ['install-scripts', 'ls'], app).output).toMatch(
      /^No packages with unreviewed install scripts\.$/m,
    );
  });
});

describe('consumers of the installed package', () => {
  it('(a) TypeScript, legacy decorators with design:type metadata, CommonJS; a missing mysql2 is named', () => {
    expect(outcome(compile('legacy-ts'))).toEqual({ status: 0, lines: [] });
    expect(outcome(start(path.join(app, 'legacy-ts', 'main.js')))).toEqual({
      status: 0,
      lines: [
        'mysql2 missing: EnvironmentError: the mysql client needs the package "mysql2", which is not installed: run `npm install mysql2`',
        'read: Ada (1815), Grace (1906), Edsger (1930)',
        'read queries: 2',
        'write queries: 1',
        'email after write: team@example.org',
        'count: 3',
        'required name: ValidationError',
      ],
    });
  });

  it('(b) TypeScript, TC39 decorators (tsc --init, target es2022), ES module, a method on every record', () => {
    expect(outcome(compile('tc39-ts'))).toEqual({ status: 0, lines: [] });
    const r = outcome(start(path.join(app, 'tc39-ts', 'main.js')));
    expect(r).toEqual({
      status: 0,
      lines: [
        'labels: Ada <ada@example.org>, Grace <grace@example.org>, Edsger <edsger@example.org>',
        'read queries: 2',
        'instanceof: true',
        'write queries: 1',
        expect.stringMatching(/^json: /),
      ],
    });
    expect(JSON.parse(r.lines[4].slice('json: '.length))).toEqual({
      id: 1,
      name: 'Ada',
      email: 'ada@example.org',
      born: 1816,
    });
  });

  it('(c) JavaScript ES module with defineModel', () => {
    expect(outcome(start(path.join(app, 'esm-js', 'main.mjs')))).toEqual({
      status: 0,
      lines: [
        'read: Kind of Blue by Miles, Pastel Blues by Nina, Sketches of Spain by Miles',
        'read queries: 3',
        'write queries: 1',
        'count: 3',
      ],
    });
  });

  it('(d) JavaScript CommonJS with defineModel and a method', () => {
    expect(outcome(start(path.join(app, 'cjs-js', 'main.js')))).toEqual({
      status: 0,
      lines: [
        'labels: Ada <ada@example.org>, Grace <grace@example.org>, Edsger <edsger@example.org>',
        'read queries: 2',
        'instanceof: true',
        'write queries: 1',
        'label after write: Grace <hopper@example.org>',
      ],
    });
  });
});
