/**
 * Type-level tests of warming (README "Warming"): env.warm's fields are the model's
 * field names, its domain a Domain, its result { records, statements }; a model's
 * warmer is typed in @Model's options. Not a jest test: `npm test` compiles it.
 */
import { BaseModel, Environment, Field, Model, type WarmResult } from '../../lib';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectTrue<T extends true>(): T | void {}

@Model({ name: 'warm_type_item', cache: { warm: { domain: [['qty', '>', 0]], fields: ['name'] } } })
class Item extends BaseModel {
  @Field() name!: string;
  @Field.integer() qty!: number;
}

// @ts-expect-error a warmer's domain is a Domain (a list of terms)
@Model({ name: 'warm_type_bad', cache: { warm: { domain: 'qty > 0' } } })
export class Bad extends BaseModel {}

export async function typeChecks(env: Environment): Promise<void> {
  const _result = await env.warm(Item, [['qty', '>', 0]], ['name', 'qty']);
  expectTrue<Equal<typeof _result, WarmResult>>();
  expectTrue<Equal<typeof _result.records, number>>();
  expectTrue<Equal<typeof _result.statements, number>>();
  await env.warm(Item);
  // @ts-expect-error not a field of Item
  await env.warm(Item, [], ['nope']);
  // @ts-expect-error an operator domains do not have
  await env.warm(Item, [['qty', '~', 1]]);
}
