// Bad input at the boundary: every refusal is a 4xx in the JSON error shape, naming the field,
// the value and the rule, and nothing reaches a gpu-worker or R2.
import { createExecutionContext, env } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import worker from '../src/index.ts';
import {
  call,
  createApiKey,
  type ErrorBody,
  gpuCalls,
  ORIGIN,
  pngHeaderBase64,
  postJson,
  uniquePrompt,
} from './support/api.ts';

let key: string;
beforeAll(async () => {
  key = (await createApiKey({ rateLimit: { requests: 10_000, window_seconds: 60 } })).key;
});

async function refusal(response: Response, status: number): Promise<ErrorBody['error']> {
  expect(response.status).toBe(status);
  expect(response.headers.get('Content-Type')).toMatch(/^application\/json/);
  return ((await response.json()) as ErrorBody).error;
}

describe('POST /v1/images validation', () => {
  it('refuses a width the model cannot take, naming the field, the value and the rule', async () => {
    const prompt = uniquePrompt('a cat');
    const error = await refusal(await postJson('/v1/images', { prompt, width: 80 }, key), 400);
    expect(error).toMatchObject({ code: 'invalid_request', field: 'width' });
    expect(error.message).toContain('80');
    expect(error.message).toContain('multiple of 32');
    expect(await gpuCalls(prompt)).toEqual([]);
  });

  it('refuses steps above the model maximum', async () => {
    const error = await refusal(await postJson('/v1/images', { prompt: 'a cat', steps: 51 }, key), 400);
    expect(error.field).toBe('steps');
    expect(error.message).toContain('51');
    expect(error.message).toContain('maximum of 50');
  });

  it('refuses a value of the wrong type, with the value it got', async () => {
    const error = await refusal(await postJson('/v1/images', { prompt: 'a cat', steps: '20' }, key), 400);
    expect(error.field).toBe('steps');
    expect(error.message).toContain('"20"');
  });

  it('refuses a missing prompt', async () => {
    const error = await refusal(await postJson('/v1/images', { seed: 1 }, key), 400);
    expect(error.field).toBe('prompt');
    expect(error.message).toContain('required');
  });

  it('refuses an unknown field', async () => {
    const error = await refusal(await postJson('/v1/images', { prompt: 'a cat', cfg: 7 }, key), 400);
    expect(error.message).toContain('"cfg"');
  });

  it('refuses an unknown model, listing the served ones', async () => {
    const error = await refusal(await postJson('/v1/images', { prompt: 'a cat', model: 'sdxl' }, key), 400);
    expect(error.field).toBe('model');
    expect(error.message).toContain('tiny-sd');
  });

  it('refuses an unknown scheduler', async () => {
    const error = await refusal(
      await postJson('/v1/images', { prompt: 'a cat', scheduler: 'magic' }, key),
      400,
    );
    expect(error.field).toBe('scheduler');
    expect(error.message).toContain('"magic"');
  });

  it('refuses a prompt longer than three 75-token chunks with its token count', async () => {
    const prompt = Array.from({ length: 240 }, (_, i) => `w${i}`).join(' ');
    const error = await refusal(await postJson('/v1/images', { prompt }, key), 400);
    expect(error.field).toBe('prompt');
    expect(error.message).toMatch(/has \d+ tokens/);
    expect(error.message).toContain('225 tokens');
  });

  it('refuses a malformed emphasis weight', async () => {
    const error = await refusal(await postJson('/v1/images', { prompt: 'a (cat:1.2.3)' }, key), 400);
    expect(error.field).toBe('prompt');
    expect(error.message).toContain('1.2.3');
  });

  it('refuses an emphasis weight outside -10..10 before anything reaches a gpu-worker', async () => {
    const prompt = uniquePrompt('(a boat:20)');
    const error = await refusal(await postJson('/v1/images', { prompt }, key), 400);
    expect(error).toMatchObject({ code: 'invalid_request', field: 'prompt' });
    expect(error.message).toMatch(/^prompt: the attention weight 20 on "a boat" is outside/);
    expect(error.message).toContain('-10 to 10');
    expect(await gpuCalls(prompt)).toEqual([]);
  });

  it('refuses nested brackets whose weights multiply past 10 in the negative prompt', async () => {
    // 25 × ( ) = 1.1^25 ≈ 10.83.
    const prompt = uniquePrompt('a boat');
    const negative_prompt = `${'('.repeat(25)}fog${')'.repeat(25)}`;
    const error = await refusal(await postJson('/v1/images', { prompt, negative_prompt }, key), 400);
    expect(error.field).toBe('negative_prompt');
    expect(error.message).toMatch(/^negative_prompt: the attention weight 10\.83 on "fog" is outside/);
    expect(await gpuCalls(prompt)).toEqual([]);
  });

  it('refuses strength without an init image', async () => {
    const error = await refusal(await postJson('/v1/images', { prompt: 'a cat', strength: 0.5 }, key), 400);
    expect(error.field).toBe('strength');
  });

  it('refuses an init image that is not a picture', async () => {
    const error = await refusal(
      await postJson('/v1/images', { prompt: 'a cat', init_image: btoa('definitely not a png') }, key),
      400,
    );
    expect(error.field).toBe('init_image');
  });

  it('answers malformed JSON with 400 invalid_json', async () => {
    const response = await call('/v1/images', {
      key,
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"prompt": "a cat",',
    });
    expect((await refusal(response, 400)).code).toBe('invalid_json');
  });

  it('answers a body that is not declared as JSON with 415', async () => {
    const response = await call('/v1/images', {
      key,
      method: 'POST',
      headers: { 'Content-Type': 'text/plain' },
      body: '{"prompt": "a cat"}',
    });
    const error = await refusal(response, 415);
    expect(error.code).toBe('unsupported_media_type');
    expect(error.message).toContain('text/plain');
  });

  it('answers a body over the stated limit with 413, counted even without Content-Length', async () => {
    const big = 'a'.repeat(13 * 1024 * 1024);
    const declared = await postJson('/v1/images', { prompt: big }, key);
    expect((await refusal(declared, 413)).message).toContain('12582912 bytes');
    // A streamed body has no Content-Length. It goes straight to the Worker's fetch handler: through
    // SELF the test harness's pipe reports the unread rest of the body as a lost connection.
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ === 13) return controller.close();
        controller.enqueue(new TextEncoder().encode('a'.repeat(1024 * 1024)));
      },
    });
    const request = new Request(`${ORIGIN}/v1/images`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${key}` },
      body: stream,
    });
    expect(request.headers.get('Content-Length')).toBeNull();
    const streamed = await worker.fetch(request, env, createExecutionContext());
    expect((await refusal(streamed, 413)).code).toBe('too_large');
    expect(sent).toBeLessThan(14);
  });
});

describe('routes', () => {
  it('answers an unknown route with a 404 in the JSON error shape', async () => {
    const error = await refusal(await call('/nope'), 404);
    expect(error).toMatchObject({ code: 'not_found' });
    expect(error.message).toContain('/nope');
  });

  it('answers an image name that is not a content key with 404', async () => {
    expect((await refusal(await call('/i/../../etc/passwd'), 404)).code).toBe('not_found');
    expect((await refusal(await call('/i/abc.png'), 404)).code).toBe('not_found');
    expect((await refusal(await call(`/p/${'0'.repeat(64)}`), 404)).code).toBe('not_found');
  });
});

// Generated bad inputs: random JSON values of every type, huge and odd strings, wrong content
// types and broken bodies, thrown at every public route. Seeded, so a failure can be replayed.
function mulberry32(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ODD_STRINGS = [
  '',
  ' ',
  '\u0000',
  '\uD800',
  '🦄'.repeat(1000),
  'a'.repeat(5000),
  '((((((((((',
  '(a:1e308)',
  'BREAK BREAK BREAK',
  '<script>alert(1)</script>',
  '\u202E\u200B\uFEFF',
  '../../',
  'NaN',
  '-1',
  // Control characters: free for the tokenizer, six bytes each in JSON (R2 metadata).
  '\u0001\u0007\u001b'.repeat(1300),
  '\t\n\r'.repeat(1300),
];

function randomValue(random: () => number, depth = 0): unknown {
  const pick = Math.floor(random() * (depth > 2 ? 6 : 8));
  switch (pick) {
    case 0:
      return null;
    case 1:
      return random() < 0.5;
    case 2:
      return [0, -1, 1.5, 1e308, -1e308, 2 ** 53 + 1, 7, 64, 4096][Math.floor(random() * 9)];
    case 3:
    case 4:
      return ODD_STRINGS[Math.floor(random() * ODD_STRINGS.length)];
    case 5:
      // Now and then a value nested thousands of levels deep.
      return random() < 0.1 ? nested(2000 + Math.floor(random() * 3000)) : Math.floor(random() * 1e6) - 5e5;
    case 6:
      return Array.from({ length: Math.floor(random() * 4) }, () => randomValue(random, depth + 1));
    default:
      return randomObject(random, depth + 1);
  }
}

const FIELDS = [
  'prompt',
  'negative_prompt',
  'model',
  'width',
  'height',
  'steps',
  'guidance_scale',
  'scheduler',
  'seed',
  'n',
  'output_format',
  'init_image',
  'strength',
  '__proto__',
  'constructor',
];

function randomObject(random: () => number, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const count = Math.floor(random() * 6);
  for (let i = 0; i < count; i++)
    out[FIELDS[Math.floor(random() * FIELDS.length)]] = randomValue(random, depth);
  // Usually a valid prompt, so the other fields get checked rather than the prompt alone.
  if (random() < 0.6) out.prompt = 'fuzz';
  return out;
}

describe('generated bad inputs', () => {
  it('get a 4xx JSON answer at every public route and write nothing to R2', {
    timeout: 120_000,
  }, async () => {
    const random = mulberry32(20260301);
    const generating = ['/v1/images', '/v1/images/generations', '/sdapi/v1/txt2img'];
    const routes = [
      ...generating,
      '/v1/tokenize',
      '/v1/jobs/x',
      '/v1/models',
      '/sdapi/v1/samplers',
      '/i/x.png',
      '/p/x',
      '/',
    ];
    const bodies: { body: BodyInit; type: string }[] = [];
    for (let i = 0; i < 40; i++)
      bodies.push({ body: JSON.stringify(randomObject(random)), type: 'application/json' });
    for (let i = 0; i < 10; i++)
      bodies.push({ body: JSON.stringify(randomValue(random)), type: 'application/json' });
    bodies.push({ body: '{"prompt":', type: 'application/json' });
    bodies.push({ body: new Uint8Array([0xff, 0xfe, 0x7b, 0x7d]), type: 'application/json' });
    bodies.push({ body: '{"prompt":"a"}', type: 'application/x-www-form-urlencoded' });
    bodies.push({ body: '{"prompt":"a"}', type: 'multipart/form-data; boundary=x' });
    bodies.push({ body: '', type: 'application/json' });

    const unexpected: string[] = [];
    let refused = 0;
    let generated = 0;
    for (const route of routes) {
      for (const [i, { body, type }] of bodies.entries()) {
        // Every body goes to the generation routes; the others see a sample.
        if (!generating.includes(route) && i % 5 !== 0) continue;
        const post = generating.includes(route) || route === '/v1/tokenize';
        for (const method of post ? ['POST'] : ['POST', 'PUT', 'DELETE']) {
          const response = await call(route, { key, method, headers: { 'Content-Type': type }, body });
          const text = await response.text();
          let shaped = false;
          try {
            const parsed = JSON.parse(text) as ErrorBody;
            shaped = typeof parsed.error?.code === 'string' && typeof parsed.error.message === 'string';
          } catch {
            shaped = false;
          }
          const ok = response.status >= 400 && response.status < 500 && shaped;
          if (ok) refused++;
          if (response.status === 200) {
            const answer = JSON.parse(text) as { images?: unknown[]; data?: unknown[] };
            generated += (answer.images ?? answer.data ?? []).length;
          }
          // A valid random request may legitimately generate (or tokenize); those are not failures.
          const answers = generating.includes(route) || route === '/v1/tokenize';
          if (!ok && !(response.status === 200 && answers)) {
            unexpected.push(
              `${method} ${route} ${String(body).slice(0, 80)} → ${response.status} ${text.slice(0, 120)}`,
            );
          }
        }
      }
    }
    expect(unexpected).toEqual([]);
    // Most generated inputs are bad; the run must have exercised the refusals, not just passed.
    expect(refused).toBeGreaterThan(250);
    // Refusals write nothing: R2 holds no more images than the valid requests were answered with.
    const listed = await env.IMAGES.list();
    expect(listed.objects.length).toBeLessThanOrEqual(generated);
  });
});

// Hostile bodies a fuzzer of random values rarely builds: one value nested thousands of levels
// deep (about 10 KB), in a known field, in an unknown one, and as the whole body.
function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = i % 2 ? [value] : { a: value };
  return value;
}

/** Arrays only, two bytes a level: the deepest value a body of `bytes` can hold. */
function deepArray(bytes: number): string {
  return `${'['.repeat(bytes / 2)}${']'.repeat(bytes / 2)}`;
}

const JSON_ROUTES = [
  '/v1/images',
  '/v1/images/generations',
  '/v1/tokenize',
  '/sdapi/v1/txt2img',
  '/sdapi/v1/img2img',
  '/sdapi/v1/options',
  '/sdapi/v1/png-info',
  '/prompt',
  '/queue',
];

describe('deeply nested JSON', () => {
  it('gets a 4xx JSON answer, never a 500, on every JSON route', { timeout: 60_000 }, async () => {
    const deep = nested(5000);
    const bodies = [
      { prompt: uniquePrompt('deep'), steps: deep },
      { prompt: uniquePrompt('deep'), seed: 1, unknown_field: deep },
      { prompt: uniquePrompt('deep'), override_settings: { sd_vae: deep } },
      deep,
    ];
    const raw = [
      `{"prompt":"deep","steps":${deepArray(10_000)}}`,
      `{"prompt":"deep","width":${deepArray(2_000_000)}}`,
      `{"prompt":"deep","seed":1,"unknown_field":${deepArray(2_000_000)}}`,
      deepArray(10_000),
    ];
    const unexpected: string[] = [];
    for (const route of JSON_ROUTES) {
      for (const text of [...bodies.map((body) => JSON.stringify(body)), ...raw]) {
        expect(text.length).toBeGreaterThanOrEqual(10_000);
        const response = await call(route, {
          key,
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: text,
        });
        const answer = await response.text();
        // The A1111 routes ignore unknown fields as A1111 does; they may generate (200), but must
        // not echo the unknown value back.
        const fine =
          (response.status >= 400 && response.status < 500 && answer.startsWith('{"error":')) ||
          (response.status === 200 && route.startsWith('/sdapi/') && !answer.includes('{"a":[{"a":'));
        if (!fine)
          unexpected.push(`${route} ${text.slice(0, 60)} → ${response.status} ${answer.slice(0, 120)}`);
      }
    }
    expect(unexpected).toEqual([]);
  });
});

// Pictures whose header claims more than anyone would send (decompression bombs: a few bytes
// that would decode to gigabytes), and junk that starts with a valid signature.
const bytesBase64 = (bytes: number[]) => btoa(String.fromCharCode(...bytes));

/** A baseline JPEG's SOI, JFIF APP0 and SOF0 segments for width × height (all a header reader needs). */
function jpegHeaderBase64(width: number, height: number): string {
  return bytesBase64([
    ...[0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0],
    ...[0xff, 0xc0, 0, 17, 8, height >> 8, height & 255, width >> 8, width & 255, 3],
    ...[1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1, 0xff, 0xd9],
  ]);
}

/** A lossless WebP's RIFF header and VP8L bitstream header for width × height. */
function webpHeaderBase64(width: number, height: number): string {
  const bits = (width - 1) | ((height - 1) << 14);
  return bytesBase64([
    ...[0x52, 0x49, 0x46, 0x46, 26, 0, 0, 0, 0x57, 0x45, 0x42, 0x50],
    ...[0x56, 0x50, 0x38, 0x4c, 13, 0, 0, 0, 0x2f],
    bits & 255,
    (bits >>> 8) & 255,
    (bits >>> 16) & 255,
    (bits >>> 24) & 255,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
  ]);
}

const PNG_JUNK = bytesBase64([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...Array(40).fill(0x41)]);

describe('pixel bombs and junk with a valid signature', () => {
  it.each([
    ['a PNG of 30000 × 30000', pngHeaderBase64(30_000, 30_000), /30000x30000 .*more than 16777216/],
    ['a JPEG of 20000 × 20000', jpegHeaderBase64(20_000, 20_000), /20000x20000 .*more than 16777216/],
    ['a WebP of 16000 × 16000', webpHeaderBase64(16_000, 16_000), /16000x16000 .*more than 16777216/],
    ['a PNG signature followed by junk', PNG_JUNK, /header does not give its size/],
  ])('refuses %s as an init image with a 400, before a gpu-worker sees it', async (_, init_image, rule) => {
    const prompt = uniquePrompt('bomb');
    const error = await refusal(await postJson('/v1/images', { prompt, init_image }, key), 400);
    expect(error.field).toBe('init_image');
    expect(error.message).toMatch(rule);
    expect(await gpuCalls(prompt)).toEqual([]);
  });

  it('refuses a bomb as a mask, and on the A1111 and OpenAI edit routes', async () => {
    const bomb = pngHeaderBase64(30_000, 30_000);
    const masked = await postJson(
      '/v1/images',
      { prompt: 'bomb', init_image: pngHeaderBase64(64, 64), mask: bomb },
      key,
    );
    expect((await refusal(masked, 400)).field).toBe('mask');
    const a1111 = await postJson('/sdapi/v1/img2img', { prompt: 'bomb', init_images: [bomb] }, key);
    expect((await refusal(a1111, 400)).message).toContain('more than 16777216');
    const form = new FormData();
    form.append('image', new Blob([Uint8Array.from(atob(bomb), (c) => c.charCodeAt(0))]), 'x.png');
    form.append('prompt', 'bomb');
    const edit = await call('/v1/images/edits', { key, method: 'POST', body: form });
    expect((await refusal(edit, 400)).message).toContain('more than 16777216');
  });

  it('stores no inputs/ object for an async job or a ComfyUI upload it refuses', async () => {
    const before = (await env.IMAGES.list({ prefix: 'inputs/' })).objects.length;
    for (const init_image of [PNG_JUNK, pngHeaderBase64(30_000, 30_000)]) {
      const response = await postJson('/v1/images', { prompt: uniquePrompt('junk'), init_image }, key, {
        Prefer: 'respond-async',
      });
      await refusal(response, 400);
      const form = new FormData();
      form.append('image', new Blob([Uint8Array.from(atob(init_image), (c) => c.charCodeAt(0))]), 'x.png');
      await refusal(await call('/upload/image', { key, method: 'POST', body: form }), 400);
    }
    expect((await env.IMAGES.list({ prefix: 'inputs/' })).objects.length).toBe(before);
  });
});
