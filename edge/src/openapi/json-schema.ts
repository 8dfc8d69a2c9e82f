// zod schemas → the document's component schemas, with zod 4's own `z.toJSONSchema`: draft
// 2020-12 is OpenAPI 3.1's dialect, so its output goes into the document as it is. One registry
// per direction names the components, so a schema used inside another becomes a `$ref`.
import { z } from 'zod';
import type { JsonSchema } from './openapi-types.ts';

export function schemaRef(name: string): { $ref: string } {
  return { $ref: `#/components/schemas/${name}` };
}

/**
 * Request bodies as a client may send them (`io: 'input'`: a field with a default is optional; a
 * transformed field shows what it accepts), responses as the edge sends them (`io: 'output'`).
 */
export function componentSchemas(
  schemas: Readonly<Record<string, z.ZodType>>,
  io: 'input' | 'output',
): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(schemas)) registry.add(schema, { id });
  const converted = z.toJSONSchema(registry, {
    target: 'draft-2020-12',
    io,
    uri: (id) => schemaRef(id).$ref,
    unrepresentable: 'throw',
  });
  return Object.fromEntries(
    Object.entries(converted.schemas).map(([id, schema]) => {
      // Inside the document the dialect is OpenAPI's default, and a `$id` that is a bare fragment is
      // not a valid 2020-12 identifier; references use `#/components/schemas/<id>` directly.
      const { $schema: _dialect, $id: _id, ...rest } = schema;
      return [id, withoutCheckFormats(rest as JsonSchema)];
    }),
  );
}

/**
 * zod writes `.startsWith()`, `.endsWith()` and `.includes()` as a `format` of that name beside
 * the `pattern` that states the rule; JSON Schema has no such formats, so they are dropped.
 */
const CHECK_FORMATS = new Set(['starts_with', 'ends_with', 'includes']);

function withoutCheckFormats<T>(value: T): T {
  if (Array.isArray(value)) return value.map(withoutCheckFormats) as T;
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key, v]) => !(key === 'format' && typeof v === 'string' && CHECK_FORMATS.has(v)))
      .map(([key, v]) => [key, withoutCheckFormats(v)]),
  ) as T;
}

/** Adds a description to named properties of an object schema; naming a missing one is a bug. */
/** Adds required file fields (multipart, `format: binary`) to a request schema built from zod. */
export function withFiles(
  schema: JsonSchema,
  files: Readonly<Record<string, { description: string; required: boolean }>>,
) {
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  for (const [name, { description, required }] of Object.entries(files)) {
    properties[name] = { type: 'string', format: 'binary', description };
    if (required) schema.required = [...((schema.required as string[]) ?? []), name];
  }
  schema.properties = properties;
  return schema;
}

export function describeProperties(schema: JsonSchema, descriptions: Readonly<Record<string, string>>) {
  const properties = schema.properties as Record<string, JsonSchema> | undefined;
  for (const [name, description] of Object.entries(descriptions)) {
    const property = properties?.[name];
    if (!property) throw new Error(`describeProperties: the schema has no property "${name}"`);
    property.description = description;
  }
  return schema;
}
