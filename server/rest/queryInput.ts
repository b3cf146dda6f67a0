type ZodDef = { type: string; innerType?: unknown; in?: unknown; shape?: Record<string, unknown> };

const defOf = (schema: unknown): ZodDef | undefined => (schema as { _zod?: { def: ZodDef } } | undefined)?._zod?.def;

/** The schema under optional / nullable / default / a pipe's input: what a value must be. */
function unwrap(schema: unknown): ZodDef | undefined {
  let def = defOf(schema);
  for (let depth = 0; def && depth < 10; depth++) {
    if (def.type === 'optional' || def.type === 'nullable' || def.type === 'default' || def.type === 'prefault') def = defOf(def.innerType);
    else if (def.type === 'pipe') def = defOf(def.in);
    else break;
  }
  return def;
}

const NUMBER = /^-?\d+(\.\d+)?$/;

/** One query string value as the field's type wants it, when it is written as one; else unchanged. */
function coerce(def: ZodDef | undefined, value: unknown): unknown {
  if (typeof value !== 'string' || !def) return value;
  if (def.type === 'number' && NUMBER.test(value)) return Number(value);
  if (def.type === 'boolean' && (value === 'true' || value === 'false')) return value === 'true';
  return value;
}

/**
 * The input of a GET route from its query string. A query string carries only strings
 * (`?limit=2` is `{ limit: '2' }`) while the document, generated from the same schema, says
 * `limit` is an integer: each field the input schema types as a number or a boolean is converted
 * when it is written as one (`2`, `true`), so the procedure's own validation sees what the
 * document promised. Anything else is left as sent and the schema refuses it with its issue
 * (`limit=abc`, `limit=2.5` for an integer, a repeated key). The schema itself is not touched:
 * /trpc keeps its strict types.
 */
export function queryInput(inputSchema: unknown, query: Record<string, unknown>): Record<string, unknown> {
  const shape = unwrap(inputSchema)?.shape;
  if (!shape) return query;
  return Object.fromEntries(Object.entries(query).map(([key, value]) => [key, Object.hasOwn(shape, key) ? coerce(unwrap(shape[key]), value) : value]));
}
