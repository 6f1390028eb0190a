/**
 * The Chinook sample database (a digital media store: data/, MIT) mapped as it is: its
 * tables, its PascalCase columns, its `<Table>Id` integer keys and its composite-key
 * link table PlaylistTrack, without renaming anything.
 *
 * - Keys: `INT NOT NULL` without AUTO_INCREMENT in the MySQL script (SQLite's INTEGER
 *   PRIMARY KEY would generate one, MySQL's would not), so the caller gives the key on
 *   create: `generated: false`, the same mapping on both databases.
 * - Foreign keys: Chinook declares every one ON DELETE NO ACTION, which the cache rules
 *   treat as 'restrict' (deleting a referenced row fails); declared so here.
 * - Sizes are the script's NVARCHAR sizes, so values that fit the model fit the column.
 * - Datetimes: SQLite stores them as text ('2009-01-01 00:00:00', meaning UTC), so the
 *   fields use format 'sql' (whole seconds, that text; DATETIME on MySQL). Money is
 *   NUMERIC(10,2), stored as REAL by SQLite and read as the decimal string '0.99'.
 */
import 'reflect-metadata';
import { BaseModel, Field, Model } from '../../lib';

const key = (column: string) => ({ column, type: 'integer', generated: false }) as const;

@Model({ name: 'Artist', table: 'Artist', primaryKey: key('ArtistId') })
export class Artist extends BaseModel {
  @Field.string({ column: 'Name', size: 120 }) name!: string | null;
  @Field.one2many(() => Album, 'artist') albums!: Album[];
}

@Model({ name: 'Album', table: 'Album', primaryKey: key('AlbumId') })
export class Album extends BaseModel {
  @Field.string({ column: 'Title', size: 160, required: true }) title!: string;
  @Field.many2one(() => Artist, { column: 'ArtistId', required: true, onDelete: 'restrict' }) artist!: Artist;
  @Field.one2many(() => Track, 'album') tracks!: Track[];
}

@Model({ name: 'Genre', table: 'Genre', primaryKey: key('GenreId') })
export class Genre extends BaseModel {
  @Field.string({ column: 'Name', size: 120 }) name!: string | null;
}

@Model({ name: 'MediaType', table: 'MediaType', primaryKey: key('MediaTypeId') })
export class MediaType extends BaseModel {
  @Field.string({ column: 'Name', size: 120 }) name!: string | null;
}

@Model({ name: 'Track', table: 'Track', primaryKey: key('TrackId') })
export class Track extends BaseModel {
  @Field.string({ column: 'Name', size: 200, required: true }) name!: string;
  @Field.many2one(() => Album, { column: 'AlbumId', onDelete: 'restrict' }) album!: Album | null;
  @Field.many2one(() => MediaType, { column: 'MediaTypeId', required: true, onDelete: 'restrict' })
  mediaType!: MediaType;
  @Field.many2one(() => Genre, { column: 'GenreId', onDelete: 'restrict' }) genre!: Genre | null;
  @Field.string({ column: 'Composer', size: 220 }) composer!: string | null;
  @Field.integer({ column: 'Milliseconds', required: true }) milliseconds!: number;
  @Field.integer({ column: 'Bytes' }) bytes!: number | null;
  @Field.decimal({ column: 'UnitPrice', precision: 10, scale: 2, required: true }) unitPrice!: string;
  @Field.many2many(() => Playlist, { relation: 'PlaylistTrack', column1: 'TrackId', column2: 'PlaylistId' })
  playlists!: Playlist[];
  @Field.one2many(() => InvoiceLine, 'track') invoiceLines!: InvoiceLine[];
}

@Model({ name: 'Playlist', table: 'Playlist', primaryKey: key('PlaylistId') })
export class Playlist extends BaseModel {
  @Field.string({ column: 'Name', size: 120 }) name!: string | null;
  @Field.many2many(() => Track, { relation: 'PlaylistTrack', column1: 'PlaylistId', column2: 'TrackId' })
  tracks!: Track[];
}

@Model({ name: 'Employee', table: 'Employee', primaryKey: key('EmployeeId') })
export class Employee extends BaseModel {
  @Field.string({ column: 'LastName', size: 20, required: true }) lastName!: string;
  @Field.string({ column: 'FirstName', size: 20, required: true }) firstName!: string;
  @Field.string({ column: 'Title', size: 30 }) title!: string | null;
  @Field.many2one(() => Employee, { column: 'ReportsTo', onDelete: 'restrict' }) reportsTo!: Employee | null;
  @Field.one2many(() => Employee, 'reportsTo') reports!: Employee[];
  @Field.datetime({ column: 'BirthDate', format: 'sql' }) birthDate!: Date | null;
  @Field.datetime({ column: 'HireDate', format: 'sql' }) hireDate!: Date | null;
  @Field.string({ column: 'Address', size: 70 }) address!: string | null;
  @Field.string({ column: 'City', size: 40 }) city!: string | null;
  @Field.string({ column: 'State', size: 40 }) state!: string | null;
  @Field.string({ column: 'Country', size: 40 }) country!: string | null;
  @Field.string({ column: 'PostalCode', size: 10 }) postalCode!: string | null;
  @Field.string({ column: 'Phone', size: 24 }) phone!: string | null;
  @Field.string({ column: 'Fax', size: 24 }) fax!: string | null;
  @Field.string({ column: 'Email', size: 60 }) email!: string | null;
  @Field.one2many(() => Customer, 'supportRep') customers!: Customer[];
}

@Model({ name: 'Customer', table: 'Customer', primaryKey: key('CustomerId') })
export class Customer extends BaseModel {
  @Field.string({ column: 'FirstName', size: 40, required: true }) firstName!: string;
  @Field.string({ column: 'LastName', size: 20, required: true }) lastName!: string;
  @Field.string({ column: 'Company', size: 80 }) company!: string | null;
  @Field.string({ column: 'Address', size: 70 }) address!: string | null;
  @Field.string({ column: 'City', size: 40 }) city!: string | null;
  @Field.string({ column: 'State', size: 40 }) state!: string | null;
  @Field.string({ column: 'Country', size: 40 }) country!: string | null;
  @Field.string({ column: 'PostalCode', size: 10 }) postalCode!: string | null;
  @Field.string({ column: 'Phone', size: 24 }) phone!: string | null;
  @Field.string({ column: 'Fax', size: 24 }) fax!: string | null;
  @Field.string({ column: 'Email', size: 60, required: true }) email!: string;
  @Field.many2one(() => Employee, { column: 'SupportRepId', onDelete: 'restrict' }) supportRep!: Employee | null;
  @Field.one2many(() => Invoice, 'customer') invoices!: Invoice[];
}

@Model({ name: 'Invoice', table: 'Invoice', primaryKey: key('InvoiceId') })
export class Invoice extends BaseModel {
  @Field.many2one(() => Customer, { column: 'CustomerId', required: true, onDelete: 'restrict' }) customer!: Customer;
  @Field.datetime({ column: 'InvoiceDate', format: 'sql', required: true }) invoiceDate!: Date;
  @Field.string({ column: 'BillingAddress', size: 70 }) billingAddress!: string | null;
  @Field.string({ column: 'BillingCity', size: 40 }) billingCity!: string | null;
  @Field.string({ column: 'BillingState', size: 40 }) billingState!: string | null;
  @Field.string({ column: 'BillingCountry', size: 40 }) billingCountry!: string | null;
  @Field.string({ column: 'BillingPostalCode', size: 10 }) billingPostalCode!: string | null;
  @Field.decimal({ column: 'Total', precision: 10, scale: 2, required: true }) total!: string;
  @Field.one2many(() => InvoiceLine, 'invoice') lines!: InvoiceLine[];
}

@Model({ name: 'InvoiceLine', table: 'InvoiceLine', primaryKey: key('InvoiceLineId') })
export class InvoiceLine extends BaseModel {
  @Field.many2one(() => Invoice, { column: 'InvoiceId', required: true, onDelete: 'restrict' }) invoice!: Invoice;
  @Field.many2one(() => Track, { column: 'TrackId', required: true, onDelete: 'restrict' }) track!: Track;
  @Field.decimal({ column: 'UnitPrice', precision: 10, scale: 2, required: true }) unitPrice!: string;
  @Field.integer({ column: 'Quantity', required: true }) quantity!: number;
}

/** Every Chinook model, for `Environment.open({ models: CHINOOK_MODELS })`. */
export const CHINOOK_MODELS = [
  Artist,
  Album,
  Genre,
  MediaType,
  Track,
  Playlist,
  Employee,
  Customer,
  Invoice,
  InvoiceLine,
] as const;
