// JSON Schemas as the page shows them: a table of fields (nested objects and arrays flattened to
// `tokens.prompt.count`, `images[].url`), each with its type, whether it is required, its rules
// and description. A `$ref` is a link to the schema it names, listed under Schemas.
import { html } from 'hono/html';
import { refName } from './document-refs.ts';
import type { JsonSchema } from './openapi-types.ts';
import { type Html, inlineHtml, proseHtml } from './prose-html.ts';

/** zod's bounds for any integer (the safe-integer range): true, and noise on every row. */
const SAFE = Number.MAX_SAFE_INTEGER;

export function schemaAnchor(name: string): string {
  return `schema-${name}`;
}

function variants(schema: JsonSchema): JsonSchema[] | undefined {
  return (schema.oneOf ?? schema.anyOf) as JsonSchema[] | undefined;
}

function isInlineObject(schema: JsonSchema): boolean {
  return schema.type === 'object' && schema.properties !== undefined;
}

export function typeHtml(schema: JsonSchema): Html {
  if (typeof schema.$ref === 'string') {
    const name = refName(schema.$ref);
    return html`<a href="#${schemaAnchor(name)}">${name}</a>`;
  }
  if ('const' in schema) return html`<code>${JSON.stringify(schema.const)}</code>`;
  if (Array.isArray(schema.enum)) {
    return html`one of ${schema.enum.map((v, i) => html`${i > 0 ? ', ' : ''}<code>${JSON.stringify(v)}</code>`)}`;
  }
  const options = variants(schema);
  if (options) return html`${options.map((o, i) => html`${i > 0 ? ' or ' : ''}${typeHtml(o)}`)}`;
  if (schema.type === 'array') return html`array of ${typeHtml((schema.items as JsonSchema) ?? {})}`;
  const type = Array.isArray(schema.type) ? schema.type.join(' or ') : String(schema.type ?? 'any');
  const detail = schema.format ?? schema.contentMediaType ?? schema.contentEncoding;
  return html`${type}${detail ? ` (${String(detail)})` : ''}`;
}

function rules(schema: JsonSchema): string[] {
  const out: string[] = [];
  const bound = (key: string, label: string) => {
    const value = schema[key];
    if (typeof value === 'number' && Math.abs(value) !== SAFE) out.push(`${label} ${value}`);
  };
  bound('minimum', '≥');
  bound('exclusiveMinimum', '>');
  bound('maximum', '≤');
  bound('exclusiveMaximum', '<');
  bound('minLength', 'length ≥');
  bound('maxLength', 'length ≤');
  bound('minItems', 'items ≥');
  bound('maxItems', 'items ≤');
  // Formats carry their own (long) patterns; show a pattern only where it is the rule.
  if (typeof schema.pattern === 'string' && !schema.format) out.push(`matches ${schema.pattern}`);
  if ('default' in schema) out.push(`default ${JSON.stringify(schema.default)}`);
  return out;
}

interface Row {
  name: string;
  schema: JsonSchema;
  required: boolean;
}

/** The fields of an object schema, nested inline objects flattened; at most a few levels deep. */
function rows(schema: JsonSchema, prefix: string, depth: number): Row[] {
  const options = variants(schema);
  if (options?.every(isInlineObject)) {
    // Several shapes (OpenAI's url or b64_json): their fields together, required where all need it.
    const merged = new Map<string, Row>();
    for (const option of options) {
      for (const row of rows(option, prefix, depth)) {
        const seen = merged.get(row.name);
        const inAll = options.every((o) =>
          ((o.required as string[]) ?? []).includes(row.name.slice(prefix.length)),
        );
        merged.set(row.name, { ...(seen ?? row), required: inAll });
      }
    }
    return [...merged.values()];
  }
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((schema.required as string[]) ?? []);
  return Object.entries(properties).flatMap(([name, property]) => {
    const row = { name: prefix + name, schema: property, required: required.has(name) };
    if (depth >= 3) return [row];
    if (isInlineObject(property)) return [row, ...rows(property, `${row.name}.`, depth + 1)];
    const items = property.type === 'array' ? (property.items as JsonSchema | undefined) : undefined;
    if (items && (isInlineObject(items) || variants(items)?.every(isInlineObject))) {
      return [row, ...rows(items, `${row.name}[].`, depth + 1)];
    }
    return [row];
  });
}

function fieldsTable(schema: JsonSchema, caption: string, prefix = ''): Html {
  return html`<table>
<caption>${caption}</caption>
<thead><tr><th scope="col">Field</th><th scope="col">Type</th><th scope="col">Description</th></tr></thead>
<tbody>${rows(schema, prefix, 0).map(
    (row) =>
      html`<tr><th scope="row"><code>${row.name}</code>${row.required ? html` <span class="required">required</span>` : ''}</th><td>${typeHtml(row.schema)}</td><td>${row.schema.description ? inlineHtml(String(row.schema.description)) : ''}${rules(row.schema).map((rule) => html` <span class="rule">${rule}</span>`)}</td></tr>`,
  )}</tbody>
</table>`;
}

/** A schema in full: its fields, its variants, or its type and rules. */
export function schemaHtml(schema: JsonSchema, caption: string): Html {
  const options = variants(schema);
  if (isInlineObject(schema) && Object.keys(schema.properties as object).length > 0) {
    return fieldsTable(schema, caption);
  }
  if (options && !options.every(isInlineObject)) {
    return html`<p>One of: ${typeHtml(schema)}</p>`;
  }
  if (options) {
    return html`<p>One of these shapes:</p>
<ul>${options.map((o, i) => html`<li>${proseHtml(o.description as string | undefined)}${fieldsTable(o, `${caption}, shape ${i + 1}`)}</li>`)}</ul>`;
  }
  const items = schema.type === 'array' ? (schema.items as JsonSchema) : undefined;
  if (items && isInlineObject(items)) return fieldsTable(items, caption, '[].');
  const rule = rules(schema);
  return html`<p>${typeHtml(schema)}${rule.length ? ` (${rule.join(', ')})` : ''}</p>`;
}
