/**
 * jest's node environment, on the databases of the worker it runs in: before the test
 * file's sandbox copies the environment variables, the worker process's own database URLs
 * are pointed at its databases (helpers/worker-databases.ts). The process's, not only the
 * sandbox's: child processes a suite spawns inherit them too.
 */
import type { EnvironmentContext, JestEnvironmentConfig } from '@jest/environment';
import NodeEnvironment from 'jest-environment-node';
import { useWorkerDatabases } from '../helpers/worker-databases';

export default class WorkerDatabasesEnvironment extends NodeEnvironment {
  constructor(config: JestEnvironmentConfig, context: EnvironmentContext) {
    useWorkerDatabases(process.env);
    super(config, context);
  }
}
