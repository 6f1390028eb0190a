/**
 * Which databases a jest run tests. PROXORM_TEST_DATABASES is a comma-separated list of
 * TestDatabase names (`sqlite,postgres`); unset or empty, every database is tested.
 *
 * The harness (describeEachDatabase) registers only the selected databases' halves, and
 * the global setup starts servers only for them, so `PROXORM_TEST_DATABASES=postgres npx
 * jest x.test.ts` runs one half of a suite. A database left out is not tested and not
 * required (REQUIRE_MYSQL / REQUIRE_PG apply to selected databases only). An unknown name
 * is an error, not a silently smaller run.
 */

/** Every database the suites run on, in the order their halves are registered. */
export const TEST_DATABASES = ['sqlite', 'mariadb', 'postgres'] as const;

export type TestDatabaseName = (typeof TEST_DATABASES)[number];

/** The selected databases, in TEST_DATABASES order and each once; throws on an unknown name. */
export function selectedDatabases(env: NodeJS.ProcessEnv = process.env): readonly TestDatabaseName[] {
  const names = (env.PROXORM_TEST_DATABASES ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  if (names.length === 0) return TEST_DATABASES;
  for (const name of names) {
    if (!isTestDatabaseName(name)) {
      throw new Error(
        `PROXORM_TEST_DATABASES names an unknown database "${name}" (known: ${TEST_DATABASES.join(', ')})`,
      );
    }
  }
  return TEST_DATABASES.filter((name) => names.includes(name));
}

/** Whether `name` is selected (see selectedDatabases). */
export function isSelected(name: TestDatabaseName): boolean {
  return selectedDatabases().includes(name);
}

function isTestDatabaseName(name: string): name is TestDatabaseName {
  return (TEST_DATABASES as readonly string[]).includes(name);
}
