import type { Connection, InferSchemaType, Model, Schema } from 'mongoose';

/** What a module's model is reached through: `noteModel(ctx.db)`, the model on that connection. */
export type ModelAccessor<Fields> = (db: { connection: Connection }) => Model<Fields>;

/** Every model modules defined, by name: openDatabase builds their indexes at start. */
const definedModels = new Map<string, { schema: Schema; accessor: ModelAccessor<unknown> }>();

/**
 * A module's mongoose model, registered with the database by itself (no edit of
 * server/db/connection.ts): the returned accessor compiles the model once per connection (the
 * connection keeps it) and returns it after that. Indexes the schema declares are built when a
 * database opens (openDatabase walks what was defined), or on first use for a connection opened
 * before the module was imported. Give the schema `{ collection: '<name>' }` so the collection's
 * name is yours and plain.
 */
export function defineModel<S extends Schema>(name: string, schema: S): ModelAccessor<InferSchemaType<S>> {
  type Fields = InferSchemaType<S>;
  const known = definedModels.get(name);
  if (known && known.schema !== schema) throw new Error(`a model named ${name} is already defined`);
  const accessor: ModelAccessor<Fields> = ({ connection }) =>
    (connection.models[name] as Model<Fields> | undefined) ?? connection.model<Fields>(name, schema as Schema);
  if (!known) definedModels.set(name, { schema, accessor: accessor as ModelAccessor<unknown> });
  return accessor;
}

/** Compiles every defined model on this connection and builds its indexes; a name the core already uses fails. */
export async function initDefinedModels(connection: Connection): Promise<void> {
  await Promise.all(
    [...definedModels].map(([name, { schema, accessor }]) => {
      const existing = connection.models[name];
      if (existing && existing.schema !== schema) throw new Error(`model ${name}: the name is taken by another model on this connection`);
      return accessor({ connection }).init();
    }),
  );
}
