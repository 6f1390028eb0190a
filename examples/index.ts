/** The runnable examples, by the name `npm run example -- <name>` takes. */
import type { Log } from './counted';
import * as basicFieldAccess from './basic-field-access';
import * as multipleRecords from './multiple-records';
import * as toDict from './to-dict';
import * as userManager from './user-manager';
import * as processOrders from './process-orders';
import * as prometheus from './prometheus';

export const EXAMPLES: Record<string, { run(log: Log): Promise<void> }> = {
  'basic-field-access': basicFieldAccess,
  'multiple-records': multipleRecords,
  'to-dict': toDict,
  'user-manager': userManager,
  'process-orders': processOrders,
  prometheus,
  // Imported when run, not here: its models (Chinook's Customer, Invoice, ...) then exist
  // only in the process that maps Chinook, and the other examples' Environments, which
  // serve every registered model, never see them.
  chinook: { run: async (log) => (await import('./chinook/example')).run(log) },
};
