import { EnvironmentError } from '../errors';
import type { Session } from './session';

/**
 * The session that `Model.browse/search/...` use: the Environment opened last, or the
 * one given to `Environment.setDefault`.
 */
let current: Session | undefined;

export function defaultSession(): Session {
  if (!current || current.isClosed)
    throw new EnvironmentError('no open default Environment: call Environment.open() first');
  return current;
}

export function setDefaultSession(session: Session | undefined): void {
  current = session;
}

export function isDefaultSession(session: Session): boolean {
  return current === session;
}
