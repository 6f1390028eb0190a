/**
 * How an Entry travels through a shared store: JSON text that decodes to exactly what
 * the L1 cache held. Every L1 value is JSON except datetimes: `{"v": {...}, "d": [...]}`
 * where `d` names the fields whose value in `v` is a Date's epoch milliseconds. JSON
 * field values pass through untouched (no in-band tag they could collide with) and come
 * back deep-frozen, as the L1 holds them; decimals are canonical strings already.
 * Both backends store this text, so no fork shares a mutable object (a Date) with another.
 */
import { deepFreeze } from '../../model/values';
import type { Entry } from './types';

interface Wire {
  v: Record<string, unknown>;
  d?: string[];
}

/** The entry's text, or undefined when a value is not one the L1 can hold (the put is refused). */
export function encodeEntry(entry: Entry): string | undefined {
  const fields: [string, unknown][] = [];
  const d: string[] = [];
  for (const [field, value] of Object.entries(entry)) {
    if (value instanceof Date) {
      const ms = value.getTime();
      if (Number.isNaN(ms)) return undefined;
      fields.push([field, ms]);
      d.push(field);
    } else if (value === undefined || !isJson(value)) {
      return undefined;
    } else {
      fields.push([field, value]);
    }
  }
  // fromEntries defines own properties: a field named __proto__ stays a field.
  const v = Object.fromEntries(fields);
  return JSON.stringify(d.length > 0 ? { v, d } : { v });
}

/** The entry of `text`, or undefined when the text is not an encoded entry (another writer's garbage). */
export function decodeEntry(text: string): Entry | undefined {
  let wire: Wire;
  try {
    wire = JSON.parse(text) as Wire;
  } catch {
    return undefined;
  }
  if (typeof wire !== 'object' || wire === null || typeof wire.v !== 'object' || wire.v === null) return undefined;
  const dates = new Set(wire.d ?? []);
  for (const field of dates) if (typeof wire.v[field] !== 'number') return undefined;
  // fromEntries defines own properties: a field named __proto__ stays a field.
  return Object.fromEntries(
    Object.entries(wire.v).map(([field, value]) => [
      field,
      dates.has(field) ? new Date(value as number) : deepFreeze(value),
    ]),
  );
}

/** JSON that reads back as itself: finite numbers, plain objects and arrays, no Dates inside. */
function isJson(value: unknown): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object':
      if (value === null) return true;
      if (Array.isArray(value)) return value.every(isJson);
      if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null) return false;
      return Object.values(value).every((v) => v !== undefined && isJson(v));
    default:
      return false;
  }
}
