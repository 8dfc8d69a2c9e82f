// GET /openapi.json and GET /docs: the document is valid OpenAPI 3.1 (an independent validator
// says so), in step with the routes Hono actually serves, and true: its examples are accepted by
// the real routes with the answers and headers it states, and what its schemas forbid is refused.
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { app } from '../src/index.ts';
import type {
  Response as DocumentedResponse,
  Header,
  HttpMethod,
  JsonSchema,
  OpenApiDocument,
  Operation,
  Reference,
} from '../src/openapi/openapi-types.ts';
import {
  call,
  createApiKey,
  type ErrorBody,
  eventually,
  pngHeaderBase64,
  postJson,
  uniquePrompt,
} from './support/api.ts';

// The validator reads its copy of the OpenAPI 3.1 schema with node:fs, from its own package
// folder, which workerd's file system does not have; it gets the same file, bundled by Vite.
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const { default: schema } = await import('@seriousme/openapi-schema-validator/schemas/v3.1/schema.json');
  return {
    ...fs,
    readFileSync: (path: string, ...rest: unknown[]) =>
      String(path).endsWith('/schemas/v3.1/schema.json')
        ? JSON.stringify(schema)
        : (fs.readFileSync as (...args: unknown[]) => unknown)(path, ...rest),
  };
});

const METHODS: HttpMethod[] = ['get', 'head', 'post', 'delete'];

let document: OpenApiDocument;
let key: string;

beforeAll(async () => {
  key = (await createApiKey({ rateLimit: { requests: 10_000, window_seconds: 60 } })).key;
  document = await (await call('/openapi.json')).json();
});

function operations(): { path: string; method: HttpMethod; operation: Operation }[] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    METHODS.flatMap((method) => {
      const operation = item[method];
      return operation ? [{ path, method, operation }] : [];
    }),
  );
}

function resolve<T>(value: T | Reference): T {
  if (typeof value !== 'object' || value === null || !('$ref' in value)) return value as T;
  const [, , kind, name] = value.$ref.split('/');
  const target = (document.components as unknown as Record<string, Record<string, T>>)[kind]?.[name];
  if (!target) throw new Error(`unresolved ${value.$ref}`);
  return target;
}

// ---- JSON Schema checks, with the document's own schemas ----------------------------------------

const SCHEMAS_ID = 'https://latent-edge.test/components';

/**
 * Ajv in strict mode over the document's component schemas, `#/components/schemas/X` rewritten to
 * `$defs` of one schema so that references resolve. Formats are annotations here: zod writes a
 * pattern beside each format it checks, and the patterns are validated.
 */
function schemaChecker() {
  const ajv = new Ajv2020({ strict: true, validateFormats: false, allErrors: true });
  const rewrite = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(rewrite);
    if (value === null || typeof value !== 'object') return value;
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [
        k,
        k === '$ref' && typeof v === 'string'
          ? v.replace('#/components/schemas/', `${SCHEMAS_ID}#/$defs/`)
          : rewrite(v),
      ]),
    );
  };
  ajv.addSchema({ $id: SCHEMAS_ID, $defs: rewrite(document.components.schemas) as object });
  return {
    /** Errors of `value` against a schema of the document (inline or a reference); [] when valid. */
    check(schema: JsonSchema, value: unknown): string[] {
      const validate = ajv.compile(rewrite(schema) as object);
      return validate(value) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
    },
  };
}

function jsonSchemaOf(response: DocumentedResponse): JsonSchema {
  const schema = response.content?.['application/json']?.schema;
  if (!schema) throw new Error(`"${response.description}" has no JSON body`);
  return schema;
}

/** The response documented for this status, checked against the real answer: body and headers. */
async function expectDocumented(operation: Operation, response: Response): Promise<unknown> {
  const documented = operation.responses[String(response.status)];
  expect(
    documented,
    `${operation.operationId} answered ${response.status}, which it does not document`,
  ).toBeDefined();
  const resolved = resolve(documented);
  for (const [name, header] of Object.entries(resolved.headers ?? {})) {
    if (resolve<Header>(header).required) {
      expect(
        response.headers.get(name),
        `${operation.operationId} ${response.status}: ${name}`,
      ).not.toBeNull();
    }
  }
  if (!resolved.content?.['application/json']) return undefined;
  const body = await response.json();
  expect(
    schemaChecker().check(jsonSchemaOf(resolved), body),
    `${operation.operationId} ${response.status}`,
  ).toEqual([]);
  return body;
}

function operation(operationId: string): { path: string; method: HttpMethod; operation: Operation } {
  const found = operations().find((o) => o.operation.operationId === operationId);
  if (!found) throw new Error(`no operation ${operationId}`);
  return found;
}

/** The request body's JSON or multipart media type. */
function requestMedia(op: Operation) {
  return op.requestBody?.content['application/json'] ?? op.requestBody?.content['multipart/form-data'];
}

function requestExample(op: Operation): Record<string, unknown> {
  return requestMedia(op)?.example as Record<string, unknown>;
}

function requestSchema(op: Operation): JsonSchema {
  const schema = requestMedia(op)?.schema;
  if (!schema) throw new Error(`${op.operationId} has no request body`);
  return resolve<JsonSchema>(schema);
}

// ---- The document --------------------------------------------------------------------------------

describe('GET /openapi.json', () => {
  it('is public JSON with this deployment as its server', async () => {
    const response = await call('/openapi.json');
    expect(response.status).toBe(200);
    expect(response.headers.get('Content-Type')).toMatch(/^application\/json/);
    expect(response.headers.get('Access-Control-Allow-Origin')).toBe('*');
    expect(document.openapi).toMatch(/^3\.1\.\d+$/);
    expect(document.servers).toEqual([{ url: 'https://edge.test' }]);
  });

  it('is a valid OpenAPI 3.1 document, and the validator would say so of a broken one', async () => {
    const result = await new Validator().validate(
      structuredClone(document) as unknown as Record<string, unknown>,
    );
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);

    const broken = structuredClone(document);
    const createImages = broken.paths['/v1/images'].post as Operation;
    delete (createImages.responses['200'] as Partial<DocumentedResponse>).description;
    expect((await new Validator().validate(broken as unknown as Record<string, unknown>)).valid).toBe(false);
  });

  it('holds only schemas that compile as strict JSON Schema 2020-12', () => {
    const checker = schemaChecker();
    for (const [name, schema] of Object.entries(document.components.schemas)) {
      expect(() => checker.check(schema, null), name).not.toThrow();
    }
  });

  it('documents every route the app serves, and the app serves every documented one', () => {
    // A path as a shape: each segment that holds a parameter (`:id`, `{key}.{ext}`) becomes `{}`.
    const shape = (path: string) =>
      path
        .split('/')
        .map((segment) => (/[:{]/.test(segment) ? '{}' : segment))
        .join('/');
    // `app.use` middleware is registered for every method; routes name theirs.
    const served = new Set(
      app.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method} ${shape(r.path)}`),
    );
    const documented = new Set(operations().map((o) => `${o.method.toUpperCase()} ${shape(o.path)}`));
    expect(
      [...served].filter((route) => !documented.has(route)),
      'served, not documented',
    ).toEqual([]);
    expect(
      [...documented].filter((route) => !served.has(route)),
      'documented, not served',
    ).toEqual([]);
  });

  it('gives every example the shape of its schema', () => {
    const checker = schemaChecker();
    for (const { operation: op } of operations()) {
      for (const [status, value] of Object.entries(op.responses)) {
        const json = resolve(value).content?.['application/json'];
        if (json?.example !== undefined && json.schema) {
          expect(checker.check(json.schema, json.example), `${op.operationId} ${status}`).toEqual([]);
        }
      }
      // Multipart bodies (ComfyUI's /upload/image) have no example to check.
      if (op.requestBody?.content['application/json']) {
        expect(checker.check(requestSchema(op), requestExample(op)), op.operationId).toEqual([]);
      }
    }
  });
});

// ---- The document against the real routes ------------------------------------------------------

const GENERATION_ROUTES = ['createImages', 'createOpenAiImages', 'a1111Txt2Img', 'a1111Img2Img', 'tokenize'];

describe('the request examples', () => {
  it.each(GENERATION_ROUTES)('%s: the example is accepted, with the documented answer', async (id) => {
    const { path, operation: op } = operation(id);
    const response = await postJson(path, requestExample(op), key);
    expect(response.status).toBe(200);
    await expectDocumented(op, response);
  });

  it.each(GENERATION_ROUTES)('%s: each rule the schema states is enforced, naming the field', async (id) => {
    const { path, operation: op } = operation(id);
    const schema = requestSchema(op);
    const checker = schemaChecker();
    const cases = violations(schema, requestExample(op));
    expect(cases.length).toBeGreaterThan(3);
    for (const { field, rule, body } of cases) {
      const what = `${id}: ${field ?? 'body'} breaking ${rule}`;
      expect(checker.check(schema, body), `${what}: the schema allows it`).not.toEqual([]);
      const response = await postJson(path, body, key);
      expect(response.status, what).toBe(400);
      const error = ((await response.json()) as ErrorBody).error;
      if (field) expect(error.field, what).toBe(field);
      else expect(error.message, what).toContain('not_a_field');
    }
  });
});

const FORM_ROUTES = ['editOpenAiImages', 'createOpenAiImageVariations'];

/** The example as multipart: "@name" values become a small real PNG file. */
async function formOf(example: Record<string, unknown>): Promise<FormData> {
  const png = Uint8Array.from(atob(pngHeaderBase64(64, 64)), (ch) => ch.charCodeAt(0));
  const form = new FormData();
  for (const [name, value] of Object.entries(example)) {
    const text = String(value);
    if (text.startsWith('@')) form.append(name, new File([png], text.slice(1), { type: 'image/png' }));
    else form.append(name, text);
  }
  return form;
}

describe('the multipart request examples', () => {
  it.each(FORM_ROUTES)('%s: the example is accepted, with the documented answer', async (id) => {
    const { path, operation: op } = operation(id);
    const example = { ...requestExample(op), prompt: uniquePrompt('a mended sail') };
    const response = await call(path, { key, method: 'POST', body: await formOf(example) });
    expect(response.status).toBe(200);
    await expectDocumented(op, response);
  });

  it.each(FORM_ROUTES)(
    '%s: a missing image, an unknown field or a JSON body is a 4xx naming it',
    async (id) => {
      const { path, operation: op } = operation(id);
      const { image: _image, ...rest } = requestExample(op);
      const missing = await call(path, { key, method: 'POST', body: await formOf(rest) });
      expect(missing.status).toBe(400);
      expect(((await missing.json()) as ErrorBody).error.field).toBe('image');
      const extra = await call(path, {
        key,
        method: 'POST',
        body: await formOf({ ...requestExample(op), not_a_field: 1 }),
      });
      expect(extra.status).toBe(400);
      expect(((await extra.json()) as ErrorBody).error.message).toContain('not_a_field');
      const json = await postJson(path, { prompt: 'x' }, key);
      expect(json.status).toBe(415);
    },
  );
});

/** One body per rule of the schema, each breaking that rule alone. */
function violations(schema: JsonSchema, example: Record<string, unknown>) {
  const out: { field?: string; rule: string; body: Record<string, unknown> }[] = [];
  for (const field of (schema.required as string[]) ?? []) {
    const { [field]: _omitted, ...body } = example;
    out.push({ field, rule: 'required', body });
  }
  if (schema.additionalProperties === false)
    out.push({ rule: 'additionalProperties', body: { ...example, not_a_field: 1 } });
  const wrongType: Record<string, unknown> = {
    string: 42,
    integer: '1',
    number: '1',
    object: 'x',
    boolean: 'yes',
  };
  for (const [field, p] of Object.entries(schema.properties as Record<string, JsonSchema>)) {
    const add = (rule: string, value: unknown) =>
      out.push({ field, rule, body: { ...example, [field]: value } });
    if (typeof p.type === 'string' && p.type in wrongType) add('type', wrongType[p.type]);
    if (p.type === 'integer') add('integer', 1.5);
    if (typeof p.minimum === 'number') add('minimum', p.minimum - 1);
    if (typeof p.exclusiveMinimum === 'number') add('exclusiveMinimum', p.exclusiveMinimum);
    if (typeof p.maximum === 'number') add('maximum', p.maximum + 1);
    if (typeof p.minLength === 'number' && p.minLength > 0) add('minLength', 'x'.repeat(p.minLength - 1));
    if (typeof p.maxLength === 'number') add('maxLength', 'x'.repeat(p.maxLength + 1));
    if (Array.isArray(p.enum)) add('enum', 'not-one-of-them');
  }
  return out;
}

describe('the documented answers', () => {
  it.each([
    'listModels',
    'getWebhookSecret',
    'a1111Samplers',
    'a1111Models',
    'a1111Schedulers',
    'a1111GetOptions',
    'a1111Progress',
  ])('%s', async (id) => {
    const { path, operation: op } = operation(id);
    const response = await call(path, { key });
    expect(response.status).toBe(200);
    await expectDocumented(op, response);
  });

  it.each(['a1111PngInfo', 'a1111SetOptions'])('%s: the example is accepted as documented', async (id) => {
    const { path, operation: op } = operation(id);
    const response = await postJson(path, requestExample(op), key);
    expect(response.status).toBe(200);
    await expectDocumented(op, response);
  });

  it.each(['a1111Interrupt', 'a1111Skip'])('%s with nothing running', async (id) => {
    const { path, operation: op } = operation(id);
    const response = await call(path, { key, method: 'POST' });
    expect(response.status).toBe(200);
    await expectDocumented(op, response);
  });

  it('Prefer: respond-async → 202 with a job, which GET and DELETE show as documented', async () => {
    const create = operation('createImages');
    const body = { ...requestExample(create.operation), prompt: uniquePrompt('a lighthouse') };
    const accepted = await postJson('/v1/images', body, key, { Prefer: 'respond-async' });
    expect(accepted.status).toBe(202);
    const job = (await expectDocumented(create.operation, accepted)) as { id: string };

    const get = await call(`/v1/jobs/${job.id}`, { key });
    expect(get.status).toBe(200);
    await expectDocumented(operation('getJob').operation, get);
    const cancel = await call(`/v1/jobs/${job.id}`, { key, method: 'DELETE' });
    expect([200, 409]).toContain(cancel.status);
    await expectDocumented(operation('cancelJob').operation, cancel);
  });

  it('streams a finished job as documented: its final event, with an id, carrying the job', async () => {
    const create = operation('createImages');
    const body = { ...requestExample(create.operation), prompt: uniquePrompt('a harbour at night') };
    const accepted = await postJson('/v1/images', body, key, { Prefer: 'respond-async' });
    const job = (await accepted.json()) as { id: string };
    await eventually(async () => {
      const view = (await (await call(`/v1/jobs/${job.id}`, { key })).json()) as { status: string };
      return view.status === 'succeeded' ? true : undefined;
    });

    const stream = operation('streamJobEvents').operation;
    const response = await call(`/v1/jobs/${job.id}/events`, { key });
    expect(response.status).toBe(200);
    const mediaTypes = Object.keys(resolve(stream.responses['200']).content ?? {});
    expect(mediaTypes).toContain(response.headers.get('Content-Type')?.split(';')[0]);
    await expectDocumented(stream, response.clone());
    // A finished job's stream is its final event, and ends.
    const events = (await response.text())
      .split('\n\n')
      .filter((block) => block.trim() && !block.startsWith(':'))
      .map((block) =>
        Object.fromEntries(
          block
            .split('\n')
            .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trim()]),
        ),
      );
    expect(events.map((e) => e.event)).toEqual(['done']);
    const checker = schemaChecker();
    for (const e of events) {
      expect(e.id).toMatch(/^\d+$/);
      expect(
        checker.check(
          { $ref: '#/components/schemas/JobEvent' },
          { event: e.event, data: JSON.parse(e.data) },
        ),
      ).toEqual([]);
    }
  });

  it('answers errors in the documented shape, with the documented headers', async () => {
    const images = operation('createImages').operation;
    await expectDocumented(images, await postJson('/v1/images', requestExample(images), ''));
    await expectDocumented(
      images,
      await call('/v1/images', {
        key,
        method: 'POST',
        headers: { 'Content-Type': 'text/plain' },
        body: 'hi',
      }),
    );
    const tokenize = operation('tokenize').operation;
    const tooLarge = await postJson('/v1/tokenize', { prompt: 'x'.repeat(70_000) }, key);
    expect(tooLarge.status).toBe(413);
    await expectDocumented(tokenize, tooLarge);

    const missing = await call('/v1/jobs/0b6f5c1e-2f7d-4a8e-9a43-6c1f2d3e4b5a', { key });
    expect(missing.status).toBe(404);
    await expectDocumented(operation('getJob').operation, missing);

    const limited = (await createApiKey({ rateLimit: { requests: 1, window_seconds: 600 } })).key;
    const models = operation('listModels').operation;
    expect((await call('/v1/models', { key: limited })).status).toBe(200);
    const overLimit = await call('/v1/models', { key: limited });
    expect(overLimit.status).toBe(429);
    await expectDocumented(models, overLimit);

    const discord = operation('discordInteraction').operation;
    const unsigned = await call('/discord/interactions', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(requestExample(discord)),
    });
    expect(unsigned.status).toBe(401);
    await expectDocumented(discord, unsigned);
  });

  it('serves the images and share pages of the example as documented', async () => {
    const images = operation('createImages').operation;
    const made = (await (await postJson('/v1/images', requestExample(images), key)).json()) as {
      images: { url: string; share_url: string }[];
    };
    const imagePath = new URL(made.images[0].url).pathname;
    const image = await call(imagePath);
    expect(image.status).toBe(200);
    const getImage = operation('getImage').operation;
    const imageTypes = Object.keys(resolve(getImage.responses['200']).content ?? {});
    expect(imageTypes).toContain(image.headers.get('Content-Type'));
    await expectDocumented(getImage, image);
    await expectDocumented(operation('headImage').operation, await call(imagePath, { method: 'HEAD' }));
    const page = await call(new URL(made.images[0].share_url).pathname);
    expect(page.status).toBe(200);
    expect(page.headers.get('Content-Type')).toMatch(/^text\/html/);
    await expectDocumented(operation('getSharePage').operation, page);
  });
});

// ---- The page --------------------------------------------------------------------------------------

describe('GET /docs', () => {
  let page: string;
  let response: Response;
  beforeAll(async () => {
    response = await call('/docs');
    page = await response.text();
  });

  it('is a public HTML page with every operation, its parameters, schemas and a curl example', () => {
    expect(response.status).toBe(200);
    expect(response.headers.get('Content-Type')).toMatch(/^text\/html/);
    for (const { path, method, operation: op } of operations()) {
      expect(page, op.operationId).toContain(`id="op-${op.operationId}"`);
      expect(page, op.operationId).toContain(`<code>${path}</code>`);
      expect(page, op.operationId).toContain(`>${method.toUpperCase()}</span>`);
      const curl =
        method === 'get' ? 'curl ' : method === 'head' ? 'curl -I ' : `curl -X ${method.toUpperCase()} `;
      expect(page, op.operationId).toContain(`${curl}&#39;https://edge.test${path.split('{')[0]}`);
    }
    for (const name of Object.keys(document.components.schemas))
      expect(page).toContain(`id="schema-${name}"`);
    // A request field with its description, and a parameter.
    expect(page).toContain('<code>guidance_rescale</code>');
    expect(page).toContain('<code>Prefer</code>');
  });

  it('loads nothing from elsewhere: no scripts, no external stylesheets, fonts or images', () => {
    expect(page).not.toMatch(/<script|<link[^>]+stylesheet|@import|url\(/i);
    const targets = [...page.matchAll(/\s(?:src|href|srcset)="([^"]*)"/g)].map((m) => m[1]);
    expect(targets.length).toBeGreaterThan(10);
    expect(targets.filter((t) => !/^(#|\/[^/])/.test(t))).toEqual([]);
    expect(response.headers.get('Content-Security-Policy')).toContain("default-src 'none'");
  });

  it('escapes the document’s text, and every in-page link has its target', () => {
    expect(page).toContain('Bearer &lt;key&gt;');
    expect(page).not.toContain('Bearer <key>');
    const ids = new Set([...page.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]));
    const fragments = [...page.matchAll(/\shref="#([^"]+)"/g)].map((m) => m[1]);
    expect(fragments.filter((f) => !ids.has(f))).toEqual([]);
  });

  it('has landmarks, one h1 and headings that never skip a level', () => {
    expect(page).toMatch(/<html lang="en">/);
    for (const landmark of ['<header>', '<nav aria-label=', '<main id="main">', '<footer>']) {
      expect(page).toContain(landmark);
    }
    const levels = [...page.matchAll(/<h([1-6])[\s>]/g)].map((m) => Number(m[1]));
    expect(levels.filter((level) => level === 1)).toHaveLength(1);
    const jumps = levels.filter((level, i) => i > 0 && level > levels[i - 1] + 1);
    expect(jumps).toEqual([]);
  });
});
