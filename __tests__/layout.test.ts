import * as fs from 'fs';
import * as path from 'path';

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
