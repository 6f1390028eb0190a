import { spawnSync } from 'child_process';
import * as path from 'path';

/*
 * `npm run docs` builds the API reference from lib/index.ts's doc comments (typedoc.json).
 * Here typedoc only validates (`--emit none`): a broken {@link}, an exported signature that
 * names a type the reference does not include, an unknown tag (`@Model` written bare in a
 * comment) is a warning, and the reference must build without any.
 */
const ROOT = path.resolve(__dirname, '..');
/** typedoc's command (its package exports only its API, not bin/). */
const TYPEDOC = path.join(path.dirname(require.resolve('typedoc/package.json')), 'bin', 'typedoc');

describe('API reference (typedoc)', () => {
  it('builds from the doc comments without a warning', () => {
    const run = spawnSync(process.execPath, [TYPEDOC, '--emit', 'none', '--treatWarningsAsErrors'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
    });
    const output = `${run.stdout}${run.stderr}`;
    expect(output).not.toMatch(/warning|error/i);
    expect(run.status).toBe(0);
  }, 120_000);
});
