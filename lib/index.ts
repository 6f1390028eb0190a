import 'reflect-metadata';

export {
  Model,
  Field,
  type ModelOptions,
  type ModelCacheOptions,
  type ModelDecorator,
  type FieldDecorator,
} from './model/decorators';
export type {
  FieldType,
  BaseFieldOptions,
  StringFieldOptions,
  DecimalFieldOptions,
  DatetimeFieldOptions,
  DatetimeFormat,
  FieldDef,
  ScalarType,
  RelationType,
  OnDelete,
  Many2oneOptions,
  Many2manyOptions,
} from './model/field-types';
export type { ModelSchema, ModelWarmer } from './model/schema';
export type { ClassRef } from './model/class-ref';
export type { Key, KeyType, PrimaryKeyDef, PrimaryKeyOption } from './model/keys';
export { BaseModel, asRecord } from './record/base-model';
export {
  defineModel,
  type DefineModelOptions,
  type DefinedModel,
  type DefinedFields,
  type DefinedInstance,
} from './record/define-model';
export { Environment, type EnvironmentConfig, type EnvironmentStats, type TransactionOptions } from './env/environment';
export type { CacheOptions } from './cache/options';
export type { SharedCacheOption, SharedCacheTuning } from './cache/shared/open';
export type { LevelStats, ModelCacheStats, CacheLevel } from './cache/store';
export type { L2Stats, L2ModelStats } from './cache/l2';
export type { LatencySummary } from './cache/latency';
export type { Stats } from './session/stats';
export type { WarmResult } from './session/warm';
export type {
  EnvironmentEvents,
  StatementStartEvent,
  StatementEndEvent,
  CacheLoadEvent,
  CacheEvictEvent,
  CacheInvalidateEvent,
  ListenOptions,
} from './db/events';
export type { LogOption } from './env/log';
export type { SyncReport } from './db/schema-sync';
export type { DatabaseConfig, SqliteConfig, MysqlConfig, PostgresConfig } from './db/database';
export type { DialectName } from './db/dialect';
export { ModelApi, type BrowseOptions, type SearchOptions } from './record/model-api';
export { RecordSetBase } from './record/recordset';
export type {
  RecordSet,
  Values,
  CreateValues,
  KeyOf,
  FieldKeys,
  RecordFields,
  ReadRow,
  ModelClass,
  CachedRow,
  MemberKeys,
} from './record/types';
export type {
  ModelBrand,
  TargetOf,
  RelationKeys,
  ReadValue,
  WriteValue,
  DictValue,
  DictValues,
  X2ManyCommands,
} from './record/types';
export type { Domain, DomainTerm, DomainLeaf, Operator } from './query/domain';
export { OPERATORS } from './query/domain';
export {
  ProxormError,
  DomainError,
  ValidationError,
  SingletonError,
  MissingError,
  SchemaError,
  EnvironmentError,
  DatabaseError,
  UniqueViolationError,
  ForeignKeyViolationError,
  NotNullViolationError,
  ConnectionError,
  QueryTimeoutError,
  DeadlockError,
  LockTimeoutError,
  DataError,
  TransactionEndedError,
} from './errors';
