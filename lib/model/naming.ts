/**
 * Column names derived from property names, for `@Model({ naming })`.
 *
 * - No naming (the default): the column is the property name, as it always was.
 * - 'snake_case': words are split where a lower-case letter or a digit meets a capital
 *   (`firstName` -> `first_name`), and inside a run of capitals before the capital that
 *   starts a lower-case word (`HTTPServer` -> `http_server`, `userID` -> `user_id`).
 *   Digits stay with the word before them (`address2` -> `address2`, `userID2` ->
 *   `user_id2`, `line2Total` -> `line2_total`); underscores already there are kept and
 *   never doubled (`legacy_Code` -> `legacy_code`); the result is lower case.
 *
 * Only the default is derived: an explicit `column` is used as written. The primary key
 * column is never renamed (it is named by `primaryKey`, default `id`).
 */
export type Naming = 'snake_case';

export const NAMINGS: readonly Naming[] = ['snake_case'];

/** The column a field named `property` gets when it names none. */
export function columnFor(property: string, naming: Naming | undefined): string {
  return naming === 'snake_case' ? snakeCase(property) : property;
}

/** The column a many2one named `property` gets when it names none: `<column>_id`. */
export function referenceColumnFor(property: string, naming: Naming | undefined): string {
  return `${columnFor(property, naming)}_id`;
}

export function snakeCase(name: string): string {
  return (
    name
      // a capital after a lower-case letter or a digit starts a word
      .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
      // in a run of capitals, the last one starts a word when a lower-case letter follows
      .replace(/([A-Z])([A-Z][a-z])/g, '$1_$2')
      .toLowerCase()
  );
}
