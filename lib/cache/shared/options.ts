import { EnvironmentError } from '../../errors';
import { SHARED_DEFAULTS, type SharedStoreOptions } from './types';

/** The store's TTLs with defaults filled in; a TTL that is not a positive integer of ms is an EnvironmentError. */
export function resolveTtls(options: SharedStoreOptions): Required<SharedStoreOptions> {
  const out: Required<SharedStoreOptions> = { ...SHARED_DEFAULTS };
  for (const name of ['entryTtlMs', 'leaseTtlMs', 'lockTtlMs'] as const) {
    const value = options[name];
    if (value === undefined) continue;
    checkTtl(name, value);
    out[name] = value;
  }
  return out;
}

export function checkTtl(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new EnvironmentError(`shared cache: ${name} must be a positive integer (milliseconds)`);
  }
}
