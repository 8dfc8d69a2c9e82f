// A fake gpu-worker for the edge tests, plugged in as Miniflare's outbound service: every fetch
// the Worker makes lands here, in Node. It speaks the real protocol with the shared code: it
// verifies the signature, decodes the envelope, validates the job with the shared schema and
// checks chunk and embedding sizes, then answers a real envelope with real PNGs (one colour per
// seed) and fresh embeddings. Anything wrong is refused the way the real worker refuses it, so
// an edge bug fails the test. Behaviour depends on the host name:
//   down-*.gpu.test → 503 with Retry-After (a full queue);  hang-*.gpu.test → never answers in time;
//   any other *.gpu.test → a worker that works.
// A prompt containing `step-delay-<ms>` makes the job take that long per step and stream its
// events (GET /v1/jobs/:id/events, signed like a cancel): queued, progress 0..N, a preview every
// preview_every steps (a solid WebP, lighter as the steps go), then done; POST
// /v1/jobs/:id/interrupt ends it after the current step, answered with `interrupted_at_step`.
// Other jobs finish at once and, like the real worker's finished jobs, have no stream (404).
// It also plays webhook receivers: https://*.hooks.test records each delivery (fail-*.hooks.test
// answers 500). The tests read what arrived from http://control.gpu.test/calls?prompt=…,
// /cancels?job=…, /interrupts?job=… and /webhooks?job=… .

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type Request, Response } from 'miniflare';
import {
  jobActionMessage,
  ReplayGuard,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  verifyRequest,
} from '../../../shared/src/crypto/request-signing.ts';
import {
  decodeEnvelope,
  ENVELOPE_CONTENT_TYPE,
  encodeEnvelope,
} from '../../../shared/src/protocol/envelope.ts';
import { GpuJob, type GpuResult } from '../../../shared/src/protocol/gpu-job.ts';
import { EVENT_STREAM_CONTENT_TYPE } from '../../../shared/src/sse/server-sent-events.ts';
import { interruptStreamed, jobArrived, jobEventStream, runStreamed } from './fake-gpu-events.ts';
import { solidPng } from './png.ts';

export const TEST_GPU_SECRET = 'test-gpu-shared-secret-0123456789abcdef';
export const TEST_CACHE_KEY_SECRET = 'test-cache-key-secret-0123456789abcdef';
export const TEST_WEBHOOK_SECRET = 'test-webhook-secret-0123456789abcdefgh';
const CHUNK_IDS = 77;

/**
 * What the fake serves, shaped like the real models wrangler.toml names: the text encoder output
 * width (both of SDXL's encoders concatenated), the pooled embedding's length, and for a second
 * encoder the pad id its own tokenizer uses (OpenCLIP pads with "!", not with EOS), so chunks_2
 * tokenized with the first tokenizer is refused.
 */
interface FakeModel {
  hidden: number;
  pooled: number;
  pad2?: number;
}
const SDXL_VOCAB_2 = 'gpu-worker/test/fixtures/models/sdxl/tokenizer_2/vocab.json';
const SDXL: FakeModel = {
  hidden: 4 + 6,
  pooled: 5,
  pad2: (JSON.parse(readFileSync(SDXL_VOCAB_2, 'utf8')) as Record<string, number>)['!'],
};
const MODELS: Record<string, FakeModel> = {
  'tiny-sd': { hidden: 64, pooled: 0 },
  'tiny-sdxl': SDXL,
  // The SDXL-Turbo fixture has tiny-sdxl's widths and tokenizers.
  'tiny-sdxl-turbo': SDXL,
};

/**
 * Whether a second-encoder chunk is padded with its own pad id. The first tokenizer pads with EOS,
 * so its chunk ending in two equal ids is padded, and the second's must then end in `pad2`.
 */
function paddedLikeTokenizer2(first: { ids: number[] }, second: { ids: number[] }, pad2: number): boolean {
  const n = first.ids.length;
  return first.ids[n - 1] !== first.ids[n - 2] || second.ids[n - 1] === pad2;
}

export interface ReceivedJob {
  host: string;
  job_id: string;
  prompt_text?: string;
  seeds: number[];
  width: number;
  height: number;
  steps: number;
  scheduler: string;
  guidance_scale: number;
  preview_every: number;
  /** The ids per chunk, as sent (absent when the job carried the prompt's embeddings instead). */
  prompt_chunks?: number[][];
  /** The second text encoder's ids per chunk (SDXL), as sent. */
  prompt_chunks_2?: number[][];
  /** Whether the job carried cached embeddings for the prompt / negative prompt. */
  prompt_embedding: boolean;
  negative_prompt_embedding: boolean;
  init_image_bytes?: number;
  /** The init image part's SHA-256 (hex), to tell which image it was. */
  init_image_sha256?: string;
  /** Inpainting as sent, with the mask part's size in place of its name. */
  inpaint?: { mask_bytes?: number; source: string; invert: boolean; blur: number; masked_content: string };
  outpaint?: {
    left: number;
    right: number;
    top: number;
    bottom: number;
    blur: number;
    masked_content: string;
  };
  /** The LoRAs the job asked for, as sent. */
  loras: { name: string; sha256?: string; weight: number }[];
  /** Whether the job asked for the image safety checker. */
  safety_check: boolean;
  /** How the fake answered: 200, or the error status. */
  status: number;
}

const received: ReceivedJob[] = [];
const cancels: { host: string; job_id: string }[] = [];
const interrupts: { host: string; job_id: string }[] = [];
const replayGuards = new Map<string, ReplayGuard>();
const webhooks: {
  host: string;
  path: string;
  headers: Record<string, string>;
  body: string;
  job_id?: string;
}[] = [];

function error(
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify({ error: { code, message } }), {
    status,
    headers: { 'Content-Type': 'application/json', ...headers },
  });
}

async function verified(
  request: Request,
  host: string,
  body: Uint8Array | string,
): Promise<string | undefined> {
  const guard = replayGuards.get(host) ?? new ReplayGuard();
  replayGuards.set(host, guard);
  const result = await verifyRequest(
    TEST_GPU_SECRET,
    body,
    request.headers.get(TIMESTAMP_HEADER),
    request.headers.get(SIGNATURE_HEADER),
    { replayGuard: guard },
  );
  return result.ok ? undefined : result.reason;
}

/** Colour of a seed's image, so different seeds give different bytes. */
function seedColour(seed: number): [number, number, number] {
  return [seed % 251, (seed * 7) % 253, (seed * 13) % 255];
}

function embedding(chunks: number, model: FakeModel): Float32Array {
  const values = new Float32Array(chunks * CHUNK_IDS * model.hidden + model.pooled);
  for (let i = 0; i < values.length; i++) values[i] = Math.sin(i);
  return values;
}

async function generate(request: Request, host: string): Promise<Response> {
  if (request.headers.get('Content-Type') !== ENVELOPE_CONTENT_TYPE) {
    return error(415, 'unsupported_media_type', `expected ${ENVELOPE_CONTENT_TYPE}`);
  }
  const body = new Uint8Array(await request.arrayBuffer());
  const refused = await verified(request, host, body);
  if (refused) return error(401, 'unauthorized', `request signature rejected: ${refused}`);
  const { head, parts } = decodeEnvelope(body);
  const parsed = GpuJob.safeParse(head);
  if (!parsed.success) return error(400, 'invalid_request', parsed.error.issues[0].message);
  const job = parsed.data;
  const record: ReceivedJob = {
    host,
    job_id: job.job_id,
    prompt_text: job.prompt_text,
    seeds: job.seeds,
    width: job.width,
    height: job.height,
    steps: job.steps,
    scheduler: job.scheduler,
    guidance_scale: job.guidance_scale,
    preview_every: job.preview_every,
    safety_check: job.safety_check,
    prompt_chunks: job.prompt.chunks?.map((c) => c.ids),
    prompt_chunks_2: job.prompt.chunks_2?.map((c) => c.ids),
    prompt_embedding: job.prompt.embedding !== undefined,
    negative_prompt_embedding: job.negative_prompt.embedding !== undefined,
    init_image_bytes: job.init_image ? parts[job.init_image]?.length : undefined,
    init_image_sha256:
      job.init_image && parts[job.init_image]
        ? createHash('sha256').update(parts[job.init_image]).digest('hex')
        : undefined,
    outpaint: job.outpaint,
    inpaint: job.inpaint && {
      mask_bytes: parts[job.inpaint.mask]?.length,
      source: job.inpaint.source,
      invert: job.inpaint.invert,
      blur: job.inpaint.blur,
      masked_content: job.inpaint.masked_content,
    },
    loras: job.loras,
    status: 200,
  };
  received.push(record);
  const stepDelay = /\bstep-delay-(\d+)\b/.exec(job.prompt_text ?? '');
  // Only a slow job has events to follow; the others are done before anyone could ask.
  if (!stepDelay) jobArrived(job.job_id);
  const refuse = (status: number, code: string, message: string, headers?: Record<string, string>) => {
    record.status = status;
    jobArrived(job.job_id);
    return error(status, code, message, headers);
  };
  if (host.startsWith('down-')) return refuse(503, 'queue_full', 'the queue is full', { 'Retry-After': '2' });
  if (host.startsWith('hang-')) {
    await new Promise((resolve) => setTimeout(resolve, 3000));
    return refuse(504, 'deadline_exceeded', 'too slow');
  }
  const model = MODELS[job.model];
  if (!model) return refuse(404, 'unknown_model', `model "${job.model}" is not served here`);
  for (const [name, prompt] of [
    ['prompt', job.prompt],
    ['negative_prompt', job.negative_prompt],
  ] as const) {
    if (prompt.chunks.some((c) => c.ids.length !== CHUNK_IDS)) {
      return refuse(400, 'invalid_request', `${name}: each chunk must hold ${CHUNK_IDS} ids`);
    }
    const { pad2 } = model;
    const second = prompt.chunks_2;
    if ((pad2 === undefined) !== (second === undefined)) {
      return refuse(
        400,
        'invalid_request',
        `${name}.chunks_2: model "${job.model}" has ${pad2 ? 2 : 1} text encoders`,
      );
    }
    if (
      pad2 !== undefined &&
      second !== undefined &&
      !prompt.chunks.every((c, i) => paddedLikeTokenizer2(c, second[i], pad2))
    ) {
      return refuse(
        400,
        'invalid_request',
        `${name}.chunks_2: not padded with the second tokenizer's pad id`,
      );
    }
    if (prompt.embedding !== undefined) {
      const bytes = parts[prompt.embedding];
      if (bytes?.length !== (prompt.chunks.length * CHUNK_IDS * model.hidden + model.pooled) * 4) {
        return refuse(400, 'invalid_request', `${name}.embedding: wrong size ${bytes?.length}`);
      }
    }
  }
  if (job.init_image !== undefined && !parts[job.init_image]) {
    return refuse(400, 'invalid_request', 'init_image: the envelope has no such part');
  }

  const interruptedAt = stepDelay ? await runStreamed(job, Number(stepDelay[1])) : undefined;

  const out: Record<string, Uint8Array> = {};
  const images = job.seeds.map((seed, i) => {
    out[`image${i}`] = solidPng(job.width, job.height, seedColour(seed));
    return { seed, part: `image${i}`, content_type: 'image/png', width: job.width, height: job.height };
  });
  const cached = job.prompt.embedding !== undefined && job.negative_prompt.embedding !== undefined;
  let embeddings: GpuResult['embeddings'];
  if (job.return_embeddings && !cached) {
    const prompt = embedding(job.prompt.chunks.length, model);
    const negative = embedding(job.negative_prompt.chunks.length, model);
    out.prompt_embedding = new Uint8Array(prompt.buffer);
    out.negative_prompt_embedding = new Uint8Array(negative.buffer);
    const part = (name: string, values: Float32Array) => ({
      part: name,
      shape: [(values.length - model.pooled) / model.hidden, model.hidden] as [number, number],
      ...(model.pooled > 0 && { pooled: model.pooled }),
    });
    embeddings = {
      prompt: part('prompt_embedding', prompt),
      negative_prompt: part('negative_prompt_embedding', negative),
    };
  }
  const result: GpuResult = {
    job_id: job.job_id,
    model: job.model,
    revision: job.revision ?? 'fake-revision',
    images,
    withheld: [],
    timings_ms: { queued: 0, encode: 1, denoise: 2, decode: 1, image: 1, total: 5 },
    embeddings_cached: cached,
    embeddings,
    interrupted_at_step: interruptedAt,
  };
  return new Response(encodeEnvelope(result, out), { headers: { 'Content-Type': ENVELOPE_CONTENT_TYPE } });
}

async function cancel(request: Request, host: string, jobId: string): Promise<Response> {
  if ((await request.arrayBuffer()).byteLength > 0)
    return error(400, 'invalid_request', 'a cancel has no body');
  const refused = await verified(request, host, jobActionMessage('cancel', jobId));
  if (refused) return error(401, 'unauthorized', `request signature rejected: ${refused}`);
  cancels.push({ host, job_id: jobId });
  return new Response(JSON.stringify({ id: jobId, state: 'cancelled' }), {
    headers: { 'Content-Type': 'application/json' },
  });
}

async function interrupt(request: Request, host: string, jobId: string): Promise<Response> {
  if ((await request.arrayBuffer()).byteLength > 0)
    return error(400, 'invalid_request', 'an interrupt has no body');
  const refused = await verified(request, host, jobActionMessage('interrupt', jobId));
  if (refused) return error(401, 'unauthorized', `request signature rejected: ${refused}`);
  interrupts.push({ host, job_id: jobId });
  if (!interruptStreamed(jobId)) return error(404, 'not_found', `no job ${jobId} is running here`);
  return new Response(JSON.stringify({ id: jobId, state: 'interrupted' }), {
    headers: { 'Content-Type': 'application/json' },
  });
}

async function events(request: Request, host: string, jobId: string): Promise<Response> {
  const refused = await verified(request, host, jobActionMessage('events', jobId));
  if (refused) return error(401, 'unauthorized', `request signature rejected: ${refused}`);
  const body = await jobEventStream(jobId);
  if (!body) return error(404, 'not_found', `no job ${jobId} is queued or running here`);
  return new Response(body, {
    headers: { 'Content-Type': EVENT_STREAM_CONTENT_TYPE, 'Cache-Control': 'no-store' },
  });
}

async function webhook(request: Request, url: URL): Promise<Response> {
  const body = await request.text();
  let jobId: string | undefined;
  try {
    jobId = (JSON.parse(body) as { id?: string }).id;
  } catch {
    jobId = undefined;
  }
  webhooks.push({
    host: url.hostname,
    path: url.pathname,
    headers: Object.fromEntries(request.headers),
    body,
    job_id: jobId,
  });
  const failing = url.hostname.startsWith('fail-');
  return new Response(failing ? 'nope' : 'ok', { status: failing ? 500 : 200 });
}

function control(url: URL): Response {
  const prompt = url.searchParams.get('prompt');
  const job = url.searchParams.get('job');
  let body: unknown[];
  if (url.pathname === '/cancels') body = cancels.filter((c) => c.job_id === job);
  else if (url.pathname === '/interrupts') body = interrupts.filter((c) => c.job_id === job);
  else if (url.pathname === '/webhooks') body = webhooks.filter((w) => w.job_id === job);
  else {
    body = received.filter(
      (r) => (prompt === null || r.prompt_text === prompt) && (job === null || r.job_id === job),
    );
  }
  return new Response(JSON.stringify(body), { headers: { 'Content-Type': 'application/json' } });
}

export async function fakeGpuWorker(request: Request): Promise<Response> {
  const url = new URL(request.url);
  if (url.hostname === 'control.gpu.test') return control(url);
  if (url.hostname.endsWith('.hooks.test') && request.method === 'POST') return webhook(request, url);
  if (!url.hostname.endsWith('.gpu.test')) {
    return error(502, 'no_network', `the edge tests reach no network; ${request.method} ${request.url}`);
  }
  const host = url.hostname;
  if (request.method === 'POST' && url.pathname === '/v1/generate') return generate(request, host);
  const eventsPath = /^\/v1\/jobs\/([^/]+)\/events$/.exec(url.pathname);
  if (request.method === 'GET' && eventsPath) return events(request, host, decodeURIComponent(eventsPath[1]));
  const interruptPath = /^\/v1\/jobs\/([^/]+)\/interrupt$/.exec(url.pathname);
  if (request.method === 'POST' && interruptPath)
    return interrupt(request, host, decodeURIComponent(interruptPath[1]));
  const cancelPath = /^\/v1\/jobs\/([^/]+)$/.exec(url.pathname);
  if (request.method === 'DELETE' && cancelPath)
    return cancel(request, host, decodeURIComponent(cancelPath[1]));
  return error(404, 'not_found', `no route ${request.method} ${url.pathname}`);
}
