/**
 * Sequelize 6 in its two documented ways of reaching associated rows:
 *
 *  - "lazy getters": the association mixins (`order.getCustomer()`, `customer.getOrders()`),
 *    which the associations guide calls lazy loading. Each call is one query, so a loop over
 *    N records runs N+1 queries by nature.
 *  - "include": eager loading with the `include` option of the finders ("Eager Loading is
 *    performed in Sequelize by using the include option"). A belongsTo/hasMany include is
 *    one LEFT OUTER JOIN query.
 *
 * Sequelize has no identity map and no unit of work: every workload is a fresh set of
 * queries, and the timed second step of d simply runs b again.
 *
 * Models are mapped onto the seeded tables (tableName, timestamps: false, underscored for
 * customer_id) and never synced. SQLite goes through the `sqlite3` package (the driver
 * Sequelize uses), MySQL/MariaDB through mysql2 (dialect 'mysql'), PostgreSQL through pg
 * (dialect 'postgres', with pg-hstore, which the dialect requires).
 */
import {
  DataTypes,
  Model,
  Sequelize,
  type BelongsToGetAssociationMixin,
  type CreationOptional,
  type ForeignKey,
  type HasManyGetAssociationsMixin,
  type InferAttributes,
  type InferCreationAttributes,
  type NonAttribute,
} from 'sequelize';
import type { BenchDb, Contender } from '../harness/types';

/**
 * Defines the three models on a Sequelize instance. The classes are created per call because
 * a Sequelize model class belongs to exactly one Sequelize instance (one per contender).
 */
function defineModels(sequelize: Sequelize) {
  class User extends Model<InferAttributes<User>, InferCreationAttributes<User>> {
    declare id: CreationOptional<number>;
    declare name: string;
    declare email: string;
    declare age: number;
  }

  class Customer extends Model<InferAttributes<Customer>, InferCreationAttributes<Customer>> {
    declare id: CreationOptional<number>;
    declare name: string;
    declare orders?: NonAttribute<Order[]>;
    declare getOrders: HasManyGetAssociationsMixin<Order>;
  }

  class Order extends Model<InferAttributes<Order>, InferCreationAttributes<Order>> {
    declare id: CreationOptional<number>;
    declare status: string;
    declare amount: number;
    declare customerId: ForeignKey<number | null>;
    declare customer?: NonAttribute<Customer | null>;
    declare getCustomer: BelongsToGetAssociationMixin<Customer>;
  }

  const id = { type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true };
  const common = { sequelize, timestamps: false, underscored: true };

  User.init(
    { id, name: DataTypes.STRING, email: DataTypes.STRING, age: DataTypes.BIGINT },
    { ...common, modelName: 'user', tableName: 'bench_user' },
  );
  Customer.init({ id, name: DataTypes.STRING }, { ...common, modelName: 'customer', tableName: 'bench_customer' });
  Order.init(
    { id, status: DataTypes.STRING, amount: DataTypes.DOUBLE },
    { ...common, modelName: 'order', tableName: 'bench_order' },
  );

  // The usual one-to-many pair; `underscored` maps the customerId attribute to customer_id.
  Customer.hasMany(Order, { foreignKey: 'customerId' });
  Order.belongsTo(Customer, { foreignKey: 'customerId' });

  return { User, Customer, Order };
}

type Models = ReturnType<typeof defineModels>;
type Form = 'lazy' | 'include';

function connect(db: BenchDb): Sequelize {
  if (db.kind === 'sqlite') return new Sequelize({ dialect: 'sqlite', storage: db.sqliteFile!, logging: false });
  const { host, port, user, password, database } = db.kind === 'postgres' ? db.pg! : db.mysql!;
  const dialect = db.kind === 'postgres' ? 'postgres' : 'mysql';
  return new Sequelize(database, user, password, { dialect, host, port, logging: false });
}

function contender(name: string, form: Form): Contender {
  let sequelize: Sequelize;
  let m: Models;

  async function orderCustomerNames(): Promise<number> {
    let sum = 0;
    if (form === 'lazy') {
      const orders = await m.Order.findAll({ order: [['id', 'ASC']] });
      for (const o of orders) sum += ((await o.getCustomer())?.name ?? '').length;
    } else {
      const orders = await m.Order.findAll({ include: m.Customer, order: [['id', 'ASC']] });
      for (const o of orders) sum += (o.customer?.name ?? '').length;
    }
    return sum;
  }

  return {
    name,
    async setup(db: BenchDb) {
      sequelize = connect(db);
      m = defineModels(sequelize);
      await sequelize.authenticate();
    },
    workloads: {
      a: async () => {
        const users = await m.User.findAll({ order: [['id', 'ASC']] });
        let sum = 0;
        for (const u of users) sum += u.name.length + u.email.length + Number(u.age);
        return sum;
      },
      b: orderCustomerNames,
      c: async () => {
        let sum = 0;
        if (form === 'lazy') {
          const customers = await m.Customer.findAll({ order: [['id', 'ASC']] });
          for (const c of customers) for (const o of await c.getOrders()) sum += Number(o.amount);
        } else {
          const customers = await m.Customer.findAll({ include: m.Order, order: [['id', 'ASC']] });
          for (const c of customers) for (const o of c.orders ?? []) sum += Number(o.amount);
        }
        return sum;
      },
      d: async () => {
        await orderCustomerNames();
        return orderCustomerNames; // no identity map: the same queries again
      },
      e: async () => {
        const users = await m.User.findAll({ order: [['id', 'ASC']] });
        // The bulk form: Model.update(values, { where }) is one UPDATE statement. It returns only
        // the affected count (no RETURNING; `returning` is a PostgreSQL-only option, left off so
        // the statement is the same everywhere), so the loaded instances are brought in line
        // with what was written; `raw` sets the value as if read from the database (not marked
        // changed, so a later save() would not write it again).
        await m.User.update({ age: 42 }, { where: { id: users.map((u) => u.id) } });
        for (const u of users) u.set({ age: 42 }, { raw: true });
        let sum = 0;
        for (const u of users) sum += Number(u.age);
        return sum;
      },
      f: async () => {
        let sum = 0;
        if (form === 'lazy') {
          // Instances turned into plain objects one by one (get({ plain: true }), what toJSON() does).
          const users = await m.User.findAll({ order: [['id', 'ASC']] });
          for (const u of users) {
            const p = u.get({ plain: true });
            sum += p.id + p.name.length + p.email.length + Number(p.age);
          }
        } else {
          // The documented shortcut for plain data: raw: true skips building instances.
          const rows = await m.User.findAll({ order: [['id', 'ASC']], raw: true });
          for (const p of rows) sum += p.id + p.name.length + p.email.length + Number(p.age);
        }
        return sum;
      },
    },
    async teardown() {
      await sequelize.close();
    },
  };
}

export const contenders: Contender[] = [
  contender('Sequelize (lazy getters)', 'lazy'),
  contender('Sequelize (include)', 'include'),
];
