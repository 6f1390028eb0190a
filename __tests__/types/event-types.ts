/**
 * Type-level tests of the event hook and the `log` option (README "Seeing the SQL").
 * Not a jest test: `npm test` compiles it (tsc --noEmit) and nothing here runs. Same
 * conventions as record-types.ts: Equal checks and `// @ts-expect-error` lines.
 */
import { Environment, type StatementEndEvent } from '../../lib';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectTrue<T extends true>(): T | void {}

export async function typeChecks(): Promise<void> {
  const env = await Environment.open({ log: (line, event) => void [line.length, event.durationMs] });
  await Environment.open({ log: true });
  // @ts-expect-error log is a boolean or a function
  await Environment.open({ log: 'yes' });

  const stop: () => void = env.on(
    'statement:end',
    (_e) => {
      expectTrue<Equal<typeof _e.durationMs, number>>();
      expectTrue<Equal<typeof _e.rows, number | undefined>>();
      expectTrue<Equal<typeof _e.error, string | undefined>>();
      expectTrue<Equal<typeof _e.env, Environment>>();
      expectTrue<Equal<typeof _e.kind, 'query' | 'transaction' | 'schema'>>();
      expectTrue<Equal<typeof _e, StatementEndEvent<Environment>>>();
    },
    { includeValues: true },
  );
  stop();
  env.on('statement:start', (e) => {
    expectTrue<Equal<typeof e.bindings, readonly unknown[] | undefined>>();
    // @ts-expect-error a start event has no duration
    void e.durationMs;
  });
  // @ts-expect-error unknown event
  env.on('statement:finish', () => undefined);
  // @ts-expect-error includeValues is a boolean
  env.on('statement:end', () => undefined, { includeValues: 1 });
}
