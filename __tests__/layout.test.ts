import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import ts from 'typescript';
import { dialectModules } from '../lib/db/dialects/registry';

/*
 * Data flows one way (DESIGN §5): model -> record -> session -> query -> db, with the
 * public Environment (env/) above record/. No import cycles between files, and none of
 * the lower folders imports an upper one (run-time imports; `import type` is erased).
 */
const LIB = path.resolve(__dirname, '..', 'lib');

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const out: string[] = [];
  // Type-only imports are erased at compile time: they cannot make a cycle at run time.
  for (const m of text.matchAll(/^(?:import|export)\s(?!type\s)[^;]*?from\s+'(\.[^']+)'/gms)) {
    const target = path.resolve(path.dirname(file), m[1]);
    out.push(fs.existsSync(`${target}.ts`) ? `${target}.ts` : path.join(target, 'index.ts'));
  }
  return out;
}

const folder = (file: string) => path.relative(LIB, file).split(path.sep)[0];

describe('lib layout', () => {
  const files = sources(LIB);
  const graph = new Map(files.map((f) => [f, importsOf(f)]));

  it('has no import cycle', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (f: string, trail: string[]) => {
      if (state.get(f) === 'done') return;
      if (state.get(f) === 'open') {
        cycles.push([...trail.slice(trail.indexOf(f)), f].map((x) => path.relative(LIB, x)).join(' -> '));
        return;
      }
      state.set(f, 'open');
      for (const g of graph.get(f) ?? []) visit(g, [...trail, f]);
      state.set(f, 'done');
    };
    for (const f of files) visit(f, []);
    expect(cycles).toEqual([]);
  });

  it('lower folders never import upper ones', () => {
    const rank: Record<string, number> = {
      'index.ts': 6,
      env: 5,
      record: 4,
      session: 3,
      query: 2,
      cache: 2.5,
      db: 1,
      model: 0,
      'errors.ts': -1,
    };
    const wrong: string[] = [];
    for (const [f, deps] of graph) {
      for (const d of deps) {
        if (rank[folder(d)] > rank[folder(f)]) wrong.push(`${path.relative(LIB, f)} imports ${path.relative(LIB, d)}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});

/*
 * Nothing outside lib/db/dialects/ names a database: the registry (dialects/registry.ts)
 * maps `client` names to the dialect folders, and only those folders name their
 * database, its clients and its driver. Every string literal of lib/ (in code and in
 * types; comments may explain a cross-database decision) is checked against those
 * names. lib/db/dialect.ts declares the Dialect interface, whose `name` lists them.
 */
describe('database names', () => {
  const DIALECTS = path.join(LIB, 'db', 'dialects');
  const ALLOWED = new Set([path.join(LIB, 'db', 'dialect.ts')]);
  const names = new Set(dialectModules().flatMap((m) => [m.name, m.driver, ...m.clients]));

  /** `file`'s string literals equal to a database's name, client or driver, as `line: 'text'`. */
  function namingLiterals(file: string): string[] {
    const text = fs.readFileSync(file, 'utf8');
    const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
    const found: string[] = [];
    const visit = (node: ts.Node) => {
      if (ts.isStringLiteralLike(node) || ts.isTemplateLiteralToken(node)) {
        if (names.has(node.text)) {
          const { line } = source.getLineAndCharacterOfPosition(node.getStart(source));
          found.push(`${path.relative(LIB, file)}:${line + 1}: '${node.text}'`);
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
    return found;
  }

  it('the registry knows each database by its name, its clients and its driver', () => {
    expect(dialectModules().map((m) => m.name)).toEqual(expect.arrayContaining(['sqlite', 'mysql']));
    for (const m of dialectModules()) expect(m.clients.length).toBeGreaterThan(0);
  });

  it('only lib/db/dialects/ names them (the Dialect interface aside)', () => {
    const outside = sources(LIB).filter((f) => !f.startsWith(DIALECTS + path.sep) && !ALLOWED.has(f));
    expect(outside.length).toBeGreaterThan(20);
    expect(outside.flatMap(namingLiterals)).toEqual([]);
  });

  it('the check sees a literal in code and in a type', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'proxorm-layout-'));
    try {
      const file = path.join(dir, 'x.ts');
      fs.writeFileSync(
        file,
        "// 'mysql' in a comment is fine\nconst a: 'x' | 'sqlite' = 'x';\nif (b === `mysql2`) c();\n",
      );
      expect(namingLiterals(file).map((l) => l.replace(/^.*x\.ts/, 'x.ts'))).toEqual([
        "x.ts:2: 'sqlite'",
        "x.ts:3: 'mysql2'",
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
