import { ForeignKeyViolationError, ValidationError } from '../lib';
import {
  Album,
  Artist,
  Customer,
  Employee,
  Genre,
  Invoice,
  InvoiceLine,
  Playlist,
  Track,
} from '../examples/chinook/models';
import { describeEachChinook, type ChinookDatabase } from './helpers/chinook';
import { countQueries } from './helpers/databases';

/**
 * proxorm mapping an existing database it did not create: the Chinook sample (SQLite file
 * and MariaDB loaded from its MySQL script). Answers are compared with raw SQL run on the
 * same copy, and statement counts are exact: one statement per hop per 1,000 records.
 */

/** How many load statements a hop costs when a loop meets its targets in this order. */
function chunksWithNewTargets(
  targetsInLoopOrder: ReadonlyArray<number | null>,
  chunkOf: (i: number) => number,
): number {
  const seen = new Set<number>();
  const chunks = new Set<number>();
  targetsInLoopOrder.forEach((t, i) => {
    if (t === null || seen.has(t)) return;
    seen.add(t);
    chunks.add(chunkOf(i));
  });
  return chunks.size;
}

/** SQL for a datetime column as its stored text, 'YYYY-MM-DD HH:MM:SS' (SQLite stores that text). */
function dateText(db: ChinookDatabase, column: string): string {
  return {
    sqlite: column,
    mariadb: `DATE_FORMAT(${column}, '%Y-%m-%d %H:%i:%s')`,
    postgres: `to_char(${column}, 'YYYY-MM-DD HH24:MI:SS')`,
  }[db.name];
}

describeEachChinook('Chinook', (db) => {
  it('has the published data', async () => {
    const [counts] = await db.rows<Record<string, number>>(
      `SELECT (SELECT COUNT(*) FROM InvoiceLine) AS InvoiceLine, (SELECT COUNT(*) FROM Track) AS Track,
              (SELECT COUNT(*) FROM PlaylistTrack) AS PlaylistTrack, (SELECT COUNT(*) FROM Customer) AS Customer`,
    );
    expect({ ...counts }).toEqual({ InvoiceLine: 2240, Track: 3503, PlaylistTrack: 8715, Customer: 59 });
  });

  it('sync() leaves the schema byte-for-byte as it was', async () => {
    const before = await db.schemaDump();
    const env = await db.open({ writes: true });
    const report = await env.sync();
    expect(report).toEqual({ createdTables: [], addedColumns: [], addedIndexes: [], addedConstraints: [] });
    await env.sync();
    expect(await db.schemaDump()).toBe(before);
  });

  it("every invoice line's track name and the artist of its album equal the SQL join, one statement per hop per 1,000 records", async () => {
    const expected = await db.rows<{
      InvoiceLineId: number;
      TrackId: number;
      AlbumId: number | null;
      ArtistId: number | null;
      TrackName: string;
      ArtistName: string | null;
    }>(
      `SELECT l.InvoiceLineId, t.TrackId, t.AlbumId, al.ArtistId, t.Name AS TrackName, ar.Name AS ArtistName
         FROM InvoiceLine l JOIN Track t ON t.TrackId = l.TrackId
         LEFT JOIN Album al ON al.AlbumId = t.AlbumId LEFT JOIN Artist ar ON ar.ArtistId = al.ArtistId
        ORDER BY l.InvoiceLineId`,
    );
    expect(expected).toHaveLength(2240);
    const env = await db.open();
    const got: Array<[number, string, string | null]> = [];
    const n = await countQueries(env, async () => {
      for (const line of await env.model(InvoiceLine).search([])) {
        const track = await line.track;
        const album = await track.album;
        const artist = album.length ? await album.artist : null;
        got.push([line.id, await track.name, artist ? await artist.name : null]);
      }
    });
    expect(got).toEqual(expected.map((r) => [r.InvoiceLineId, r.TrackName, r.ArtistName]));
    // The loop loads lines 1,000 at a time; each hop loads, per chunk of lines, the
    // targets that chunk reaches first (the prefetch set grows as the loop moves on).
    const chunk = (i: number) => Math.floor(i / 1000);
    const hops = [
      Math.ceil(expected.length / 1000), // the lines
      chunksWithNewTargets(
        expected.map((r) => r.TrackId),
        chunk,
      ),
      chunksWithNewTargets(
        expected.map((r) => r.AlbumId),
        chunk,
      ),
      chunksWithNewTargets(
        expected.map((r) => r.ArtistId),
        chunk,
      ),
    ];
    expect(hops).toEqual([3, 3, 2, 2]); // the last 240 lines reach no new album
    expect(n).toBe(1 + hops.reduce((a, b) => a + b, 0));
  });

  it("playlists' tracks through PlaylistTrack equal SQL, one statement for the links", async () => {
    const links = await db.rows<{ PlaylistId: number; TrackId: number }>(
      'SELECT PlaylistId, TrackId FROM PlaylistTrack ORDER BY PlaylistId, TrackId',
    );
    const expected = new Map<number, number[]>();
    for (const l of links) expected.set(l.PlaylistId, [...(expected.get(l.PlaylistId) ?? []), l.TrackId]);
    const playlistIds = (
      await db.rows<{ PlaylistId: number }>('SELECT PlaylistId FROM Playlist ORDER BY PlaylistId')
    ).map((r) => r.PlaylistId);

    const env = await db.open();
    const got = new Map<number, number[]>();
    const n = await countQueries(env, async () => {
      for (const playlist of await env.model(Playlist).search([])) {
        const tracks = await playlist.tracks;
        if (tracks.length) got.set(playlist.id, [...tracks.ids]);
      }
    });
    expect(n).toBe(2); // the search, then the link table for every playlist at once
    expect(got).toEqual(expected);
    expect(playlistIds).toHaveLength(18);

    // The other side: a track's playlists, over every track, in one read of the links.
    const byTrack = new Map<number, number[]>();
    for (const l of [...links].sort((a, b) => a.TrackId - b.TrackId || a.PlaylistId - b.PlaylistId)) {
      byTrack.set(l.TrackId, [...(byTrack.get(l.TrackId) ?? []), l.PlaylistId]);
    }
    const fork = env.fork();
    const trackPlaylists = new Map<number, number[]>();
    const m = await countQueries(fork, async () => {
      for (const track of await fork.model(Track).search([])) {
        const playlists = await track.playlists;
        if (playlists.length) trackPlaylists.set(track.id, [...playlists.ids]);
      }
    });
    expect(trackPlaylists).toEqual(byTrack);
    expect(m).toBe(1 + Math.ceil(3503 / 1000)); // the search, then the links 1,000 tracks at a time
  });

  it("employees' reports and managers, and customers' support reps, equal SQL", async () => {
    const employees = await db.rows<{ EmployeeId: number; ReportsTo: number | null; LastName: string }>(
      'SELECT EmployeeId, ReportsTo, LastName FROM Employee ORDER BY EmployeeId',
    );
    const env = await db.open();
    const managers: Array<[number, number | null]> = [];
    const reports = new Map<number, number[]>();
    const n = await countQueries(env, async () => {
      for (const e of await env.model(Employee).search([])) {
        const manager = await e.reportsTo;
        managers.push([e.id, manager.length ? manager.id : null]);
        reports.set(e.id, [...(await e.reports).ids]);
      }
    });
    // the search, the employees' fields, their reports (one statement for all 8)
    expect(n).toBe(3);
    expect(managers).toEqual(employees.map((e) => [e.EmployeeId, e.ReportsTo]));
    expect(reports).toEqual(
      new Map(
        employees.map((e) => [
          e.EmployeeId,
          employees.filter((r) => r.ReportsTo === e.EmployeeId).map((r) => r.EmployeeId),
        ]),
      ),
    );

    const reps = await db.rows<{ CustomerId: number; LastName: string | null }>(
      `SELECT c.CustomerId, e.LastName FROM Customer c LEFT JOIN Employee e ON e.EmployeeId = c.SupportRepId ORDER BY c.CustomerId`,
    );
    const fork = env.fork();
    const got: Array<[number, string | null]> = [];
    const m = await countQueries(fork, async () => {
      for (const c of await fork.model(Customer).search([])) {
        const rep = await c.supportRep;
        got.push([c.id, rep.length ? await rep.lastName : null]);
      }
    });
    expect(got).toEqual(reps.map((r) => [r.CustomerId, r.LastName]));
    expect(m).toBe(3); // the search, the customers, their reps
  });

  it('datetimes (text in SQLite) read as UTC and match SQL in domains under any TZ; money reads as its decimal string', async () => {
    // The stored text, whatever the column type ('2002-08-14 00:00:00'), means UTC.
    const hireText = dateText(db, 'HireDate');
    const hired = await db.rows<{ EmployeeId: number; HireDate: string }>(
      `SELECT EmployeeId, ${hireText} AS HireDate FROM Employee ORDER BY EmployeeId`,
    );
    const since = await db.rows<{ EmployeeId: number }>(
      "SELECT EmployeeId FROM Employee WHERE HireDate >= '2002-08-14 00:00:00' ORDER BY EmployeeId",
    );
    expect(since).toHaveLength(6);
    const totals = await db.rows<{ InvoiceId: number; Total: number | string }>(
      'SELECT InvoiceId, Total FROM Invoice ORDER BY InvoiceId',
    );
    const saved = process.env.TZ;
    try {
      for (const tz of ['UTC', 'America/New_York', 'Asia/Kolkata']) {
        process.env.TZ = tz;
        const env = await db.open();
        const got = await Promise.all(
          [...(await env.model(Employee).search([]))].map(async (e) => [e.id, (await e.hireDate)?.toISOString()]),
        );
        expect({ tz, got }).toEqual({
          tz,
          got: hired.map((r) => [r.EmployeeId, `${r.HireDate.replace(' ', 'T')}.000Z`]),
        });
        const found = await env.model(Employee).search([['hireDate', '>=', new Date('2002-08-14T00:00:00Z')]]);
        expect({ tz, ids: [...found.ids] }).toEqual({ tz, ids: since.map((r) => r.EmployeeId) });
        const invoices = await env.model(Invoice).search([]);
        const read = await Promise.all([...invoices].map(async (i) => [i.id, await i.total]));
        expect(read).toEqual(totals.map((r) => [r.InvoiceId, Number(r.Total).toFixed(2)]));
      }
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });

  it('create, write and unlink land in the existing columns, links in PlaylistTrack', async () => {
    const env = await db.open({ writes: true });
    const artist = await env.model(Artist).create({ id: 1000, name: 'Proxorm Quartet' });
    const album = await env.model(Album).create({ id: 1000, title: 'Mapped', artist });
    const track = await env.model(Track).create({
      id: 5000,
      name: 'Existing Columns',
      album,
      mediaType: 1,
      genre: 1,
      composer: null,
      milliseconds: 180000,
      bytes: 1234,
      unitPrice: '1.29',
    });
    expect(await db.rows('SELECT ArtistId, Name FROM Artist WHERE ArtistId = 1000')).toEqual([
      { ArtistId: 1000, Name: 'Proxorm Quartet' },
    ]);
    expect(await db.rows('SELECT AlbumId, Title, ArtistId FROM Album WHERE AlbumId = 1000')).toEqual([
      { AlbumId: 1000, Title: 'Mapped', ArtistId: 1000 },
    ]);
    const [row] = await db.rows<Record<string, unknown>>('SELECT * FROM Track WHERE TrackId = 5000');
    expect({ ...row, UnitPrice: String(row.UnitPrice) }).toEqual({
      TrackId: 5000,
      Name: 'Existing Columns',
      AlbumId: 1000,
      MediaTypeId: 1,
      GenreId: 1,
      Composer: null,
      Milliseconds: 180000,
      Bytes: 1234,
      UnitPrice: '1.29',
    });

    await track.write({ name: 'Renamed', composer: 'Someone', genre: 2 });
    expect(await db.rows('SELECT Name, Composer, GenreId FROM Track WHERE TrackId = 5000')).toEqual([
      { Name: 'Renamed', Composer: 'Someone', GenreId: 2 },
    ]);

    const playlist = env.model(Playlist).browse(1);
    const before = (await playlist.tracks).length;
    await playlist.write({ tracks: { add: [5000] } });
    expect(await db.rows('SELECT PlaylistId, TrackId FROM PlaylistTrack WHERE TrackId = 5000')).toEqual([
      { PlaylistId: 1, TrackId: 5000 },
    ]);
    expect((await playlist.tracks).length).toBe(before + 1);
    expect([...(await track.playlists).ids]).toEqual([1]);

    // Chinook's foreign keys are NO ACTION: the database refuses, and nothing changes.
    await expect(artist.unlink()).rejects.toBeInstanceOf(ForeignKeyViolationError);
    expect(await db.rows('SELECT ArtistId FROM Artist WHERE ArtistId = 1000')).toEqual([{ ArtistId: 1000 }]);
    expect(await album.title).toBe('Mapped');

    // A datetime and money in Chinook's own storage: text 'YYYY-MM-DD HH:MM:SS' / REAL on SQLite.
    const invoice = await env
      .model(Invoice)
      .create({ id: 1000, customer: 1, invoiceDate: new Date('2025-01-02T03:04:05Z'), total: '1.29' });
    await env.model(InvoiceLine).create({ id: 5000, invoice, track, unitPrice: '1.29', quantity: 1 });
    const [stored] = await db.rows<{ InvoiceDate: string; Total: number | string }>(
      `SELECT ${dateText(db, 'InvoiceDate')} AS InvoiceDate, Total FROM Invoice WHERE InvoiceId = 1000`,
    );
    expect({ ...stored, Total: String(stored.Total) }).toEqual({ InvoiceDate: '2025-01-02 03:04:05', Total: '1.29' });
    expect(await db.rows('SELECT InvoiceId, TrackId, Quantity FROM InvoiceLine WHERE InvoiceLineId = 5000')).toEqual([
      { InvoiceId: 1000, TrackId: 5000, Quantity: 1 },
    ]);
    expect([...(await track.invoiceLines).ids]).toEqual([5000]);
    await expect(track.unlink()).rejects.toBeInstanceOf(ForeignKeyViolationError);
    await env.model(InvoiceLine).browse(5000).unlink();
    await invoice.unlink();

    await playlist.write({ tracks: { remove: [5000] } });
    expect(await db.rows('SELECT PlaylistId FROM PlaylistTrack WHERE TrackId = 5000')).toEqual([]);
    await track.unlink();
    await album.unlink();
    await artist.unlink();
    expect(await db.rows('SELECT TrackId FROM Track WHERE TrackId = 5000')).toEqual([]);
    expect(await db.rows('SELECT ArtistId FROM Artist WHERE ArtistId = 1000')).toEqual([]);
    expect(await db.rows<{ n: number }>('SELECT COUNT(*) AS n FROM PlaylistTrack')).toEqual([{ n: 8715 }]);
  });

  it('a key the database does not generate must be given: a ValidationError, nothing written', async () => {
    const env = await db.open({ writes: true });
    await expect(env.model(Genre).create({ name: 'No Key' })).rejects.toBeInstanceOf(ValidationError);
    expect(await db.rows('SELECT GenreId FROM Genre WHERE Name = ?', ['No Key'])).toEqual([]);
  });
});
