/** `npm run example -- <name>`: runs examples/<name>.ts (see examples/index.ts for the list). */
import { EXAMPLES } from '../examples';

const name = process.argv[2];
const example = name ? EXAMPLES[name] : undefined;
if (!example) {
  console.error(`usage: npm run example -- <name>\nexamples: ${Object.keys(EXAMPLES).join(', ')}`);
  process.exit(2);
}
example.run(console.log).catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
