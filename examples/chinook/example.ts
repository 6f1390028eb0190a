/**
 * `npm run example -- chinook`: proxorm on a database it did not create. A copy of the
 * Chinook sample (SQLite) is mapped by examples/chinook/models.ts as it is (PascalCase
 * tables and columns, `TrackId` keys, the PlaylistTrack link table) and queried through
 * relations, with the statements each answer took.
 */
import { Environment } from '../../lib';
import { counted, type Log } from '../counted';
import { copyChinookSqlite } from './database';
import { CHINOOK_MODELS, Employee, InvoiceLine, Playlist } from './models';

/** Cents of a decimal string with two decimals ('0.99' -> 99), so sums are exact. */
const cents = (amount: string): number => Math.round(Number(amount) * 100);
const money = (c: number): string => `${Math.floor(c / 100)}.${String(c % 100).padStart(2, '0')}`;

export async function run(log: Log): Promise<void> {
  const copy = copyChinookSqlite();
  const env = await Environment.open({ filename: copy.filename, models: CHINOOK_MODELS });
  try {
    // The schema matches the models: sync() creates, adds and alters nothing.
    const report = await env.sync();
    log(`sync() on the existing schema: ${Object.values(report).flat().length} changes`);

    // Sales by artist: every invoice line -> its track -> the track's album -> its artist.
    const byArtist = await counted(env, log, 'sales by artist over all invoice lines', async () => {
      const totals = new Map<string, number>();
      for (const line of await env.model(InvoiceLine).search([])) {
        const album = await (await line.track).album;
        const artist = album.length ? await (await album.artist).name : null;
        const key = artist ?? '(no artist)';
        totals.set(key, (totals.get(key) ?? 0) + cents(await line.unitPrice) * (await line.quantity));
      }
      return totals;
    });
    const top = [...byArtist].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, 3);
    log(`top artists: ${top.map(([name, c]) => `${name} ${money(c)}`).join(', ')}`);

    // The org chart: employees reporting to employees, and the customers each supports.
    const chart = await counted(env, log, 'employees, their manager, reports and customers', async () => {
      const out: string[] = [];
      for (const e of await env.model(Employee).search([])) {
        const manager = await e.reportsTo;
        const reports = await e.reports;
        const customers = await e.customers;
        const boss = manager.length ? await manager.lastName : '-';
        out.push(
          `${await e.firstName} ${await e.lastName} (${await e.title}) reports to ${boss}; ${reports.length} reports, ${customers.length} customers`,
        );
      }
      return out;
    });
    chart.forEach((line) => log(line));

    // A playlist's tracks through the PlaylistTrack link table.
    const grunge = await counted(env, log, 'the Grunge playlist and its tracks', async () => {
      const [playlist] = await env.model(Playlist).search([['name', '=', 'Grunge']]);
      const tracks = await playlist.tracks;
      return Promise.all([...tracks].map((t) => t.name));
    });
    log(`Grunge: ${grunge.length} tracks: ${grunge.slice(0, 3).join(', ')}, ...`);
  } finally {
    await env.close();
    copy.remove();
  }
}
