import { runInThisContext } from 'node:vm';

/**
 * Runs `fn` with the process's time zone set to `tz` (an IANA name), then restores it.
 *
 * Node applies an assignment to process.env.TZ at once, but jest gives each test file a
 * copy of process.env, whose assignments never reach Node: the real process object is
 * read from Node's main context. The switch is checked (a zone is not silently ignored),
 * so a test that means to run under New York time cannot pass under UTC by accident.
 */
export async function inTimeZone<T>(tz: string, fn: () => Promise<T>): Promise<T> {
  const real = runInThisContext('process') as NodeJS.Process;
  const previous = real.env.TZ;
  real.env.TZ = tz;
  try {
    const applied = new Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (applied !== tz && !(tz === 'UTC' && applied === 'Etc/UTC'))
      throw new Error(`time zone ${tz} not applied (got ${applied})`);
    return await fn();
  } finally {
    if (previous === undefined) delete real.env.TZ;
    else real.env.TZ = previous;
  }
}
