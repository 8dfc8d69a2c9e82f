// The ComfyUI server API (server.py), so ComfyUI clients and SDKs work unchanged but for the URL
// and the API key: POST /prompt runs a workflow of core nodes as one generation through the
// queued job path, GET /history and /queue show the key's runs, /view serves their images,
// POST /upload/image takes img2img inputs, /object_info describes the nodes run here, /ws streams
// progress. Everything is per API key, as everything else is.
import { LIMITS } from '@latent-edge/shared/protocol/limits';
import { parseWith } from '@latent-edge/shared/protocol/validation-error';
import { Hono } from 'hono';
import { z } from 'zod';
import { checkGraph, UPLOADED_NAME } from '../comfy/check-graph.ts';
import { evaluateGraph } from '../comfy/evaluate-graph.ts';
import { nativeWorkflowRequest, withNodeErrors } from '../comfy/field-errors.ts';
import { nodeDefinitions } from '../comfy/node-definitions.ts';
import { objectInfo } from '../comfy/object-info.ts';
import { ComfyPromptError, nodeError } from '../comfy/prompt-error.ts';
import { MAX_UPLOAD_BODY_BYTES, storeUpload } from '../comfy/uploaded-image.ts';
import { PromptRequest } from '../comfy/workflow.ts';
import type { AppEnv } from '../env.ts';
import { cancelJobOnWorker } from '../generation/gpu-pool.ts';
import { toBase64 } from '../generation/image-bytes.ts';
import { OBJECT_NAME } from '../generation/image-objects.ts';
import { headerSize } from '../generation/init-image.ts';
import { admitJob } from '../generation/job-accounting.ts';
import { prepareGeneration } from '../generation/prepare-generation.ts';
import { ApiError } from '../http/api-error.ts';
import { baseUrl } from '../http/base-url.ts';
import { readJson, readLimited } from '../http/read-json.ts';
import { queuedRecord } from '../jobs/job-record.ts';
import { initImageKey } from '../jobs/queue-message.ts';

export const comfy = new Hono<AppEnv>();

const hubOf = (c: { env: Env; var: AppEnv['Variables'] }) => c.env.COMFY_HUB.getByName(c.var.apiKey.id);

/** The workflow body. ComfyUI clients often send it without a JSON media type, so none is required. */
async function readWorkflow(request: Request, maxBytes: number): Promise<z.infer<typeof PromptRequest>> {
  const bytes = await readLimited(request, maxBytes);
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes));
  } catch (error) {
    throw new ComfyPromptError(
      'invalid_prompt',
      `the body is not valid JSON: ${(error as Error).message}`,
      '',
    );
  }
  if (typeof body !== 'object' || body === null || !('prompt' in body)) {
    throw new ComfyPromptError(
      'no_prompt',
      'No prompt provided',
      'send {"prompt": {node id: {class_type, inputs}}}',
    );
  }
  const parsed = parseWith(PromptRequest, body);
  if (!parsed.success)
    throw new ComfyPromptError('invalid_prompt', parsed.error.message, parsed.error.field ?? '');
  return parsed.data;
}

/** A LoadImage's upload from R2; one never uploaded is ComfyUI's "Invalid image file" on that node. */
async function uploadedImage(bucket: R2Bucket, name: string, node: string): Promise<Uint8Array> {
  const sha256 = UPLOADED_NAME.exec(name)?.[1] ?? '';
  const object = await bucket.get(initImageKey(sha256));
  if (!object) {
    throw nodeError(node, 'LoadImage', {
      type: 'value_not_in_list',
      message: 'Invalid image file',
      details: `image: ${name} was not uploaded (POST /upload/image)`,
      input: 'image',
    });
  }
  return new Uint8Array(await object.arrayBuffer());
}

comfy.post('/prompt', async (c) => {
  const config = c.var.config;
  const { prompt: workflow, client_id: clientId } = await readWorkflow(c.req.raw, config.MAX_BODY_BYTES);
  // 1. Check the graph, then read it as one generation request.
  const definitions = nodeDefinitions(config);
  const outputNode = checkGraph(workflow, definitions);
  const evaluated = evaluateGraph(workflow, outputNode, definitions);
  let initImage: string | undefined;
  if (evaluated.initImageName) {
    const origin = evaluated.origins.init_image;
    const bytes = await uploadedImage(c.env.IMAGES, evaluated.initImageName, origin.node);
    // VAEEncode keeps its pixels' size, so the generation has the uploaded image's.
    const size = headerSize(bytes);
    if (size) {
      Object.assign(evaluated.request, size);
      Object.assign(evaluated.origins, { width: origin, height: origin });
    }
    initImage = toBase64(bytes);
  }
  const mask =
    evaluated.maskImageName &&
    toBase64(await uploadedImage(c.env.IMAGES, evaluated.maskImageName, evaluated.origins.mask.node));
  // 2. The same checks, limits and preparation as every generation route.
  const request = nativeWorkflowRequest(workflow, evaluated, initImage, mask || undefined);
  const prepared = await withNodeErrors(workflow, evaluated, () => prepareGeneration(config, request));

  // 3. Queue it as an asynchronous job whose hub tells the client's websocket.
  const promptId = crypto.randomUUID();
  // Admitted under the key's quota; the queue consumer records or releases the run.
  await admitJob(c.env, c.var.apiKey, promptId, prepared.generation.images.length, (p) =>
    c.executionCtx.waitUntil(p),
  );
  await c.env.JOB_STATE.getByName(promptId).create(queuedRecord(promptId, c.var.apiKey.id, baseUrl(c)));
  const number = await hubOf(c).enqueue({
    prompt_id: promptId,
    workflow,
    client_id: clientId,
    output_node: evaluated.outputNode,
    sampler_node: evaluated.samplerNode,
  });
  await c.env.JOBS.send(
    {
      type: 'generate',
      job_id: promptId,
      generation: prepared.generation,
      comfy: { owner: c.var.apiKey.id },
    },
    { contentType: 'json' },
  );
  return c.json({ prompt_id: promptId, number, node_errors: {} });
});

comfy.get('/prompt', async (c) => c.json(await hubOf(c).execInfo()));

comfy.get('/queue', async (c) => c.json(await hubOf(c).queueView()));

/** POST /queue: ComfyUI's way to drop pending runs, by id or all of them. */
export const QueueChange = z.strictObject({
  delete: z.array(z.string().max(100)).max(1000).optional(),
  clear: z.boolean().optional(),
});

comfy.post('/queue', async (c) => {
  const change = await readJson(c, QueueChange, 64 * 1024);
  const hub = hubOf(c);
  const { pending } = await hub.unfinished();
  const dropped = change.clear ? pending : pending.filter((id) => change.delete?.includes(id));
  for (const id of dropped) {
    await c.env.JOB_STATE.getByName(id).cancel();
    // The queue consumer will find it cancelled; the history says so from now on.
    await hub.finished(id, { status: 'interrupted' });
  }
  return c.body(null, 200);
});

// ComfyUI's interrupt stops what is running now; queued runs stay queued.
comfy.post('/interrupt', async (c) => {
  const { running } = await hubOf(c).unfinished();
  const secret = c.var.config.GPU_SHARED_SECRET;
  for (const id of running) {
    const before = await c.env.JOB_STATE.getByName(id).cancel();
    if (before?.status === 'running' && before.worker) {
      c.executionCtx.waitUntil(cancelJobOnWorker(before.worker, secret, id).catch(() => false));
    }
  }
  return c.body(null, 200);
});

comfy.get('/history', async (c) => {
  const max = Number(c.req.query('max_items') ?? 200);
  return c.json(await hubOf(c).history(undefined, Number.isInteger(max) && max > 0 ? max : 200));
});

comfy.get('/history/:id', async (c) => c.json(await hubOf(c).history(c.req.param('id').slice(0, 100))));

comfy.get('/view', async (c) => {
  const filename = c.req.query('filename') ?? '';
  const type = c.req.query('type') || 'output';
  const key =
    type === 'output' && OBJECT_NAME.test(filename)
      ? filename
      : type === 'input' && UPLOADED_NAME.test(filename)
        ? initImageKey(UPLOADED_NAME.exec(filename)?.[1] ?? '')
        : undefined;
  const object = key ? await c.env.IMAGES.get(key) : null;
  if (!object) {
    throw new ApiError(404, 'not_found', `no ${type} image ${JSON.stringify(filename.slice(0, 100))}`, {
      field: 'filename',
    });
  }
  const headers = new Headers();
  object.writeHttpMetadata(headers);
  headers.set('X-Content-Type-Options', 'nosniff');
  headers.set('Cache-Control', 'private, max-age=31536000, immutable');
  return new Response(object.body, { headers });
});

comfy.post('/upload/image', async (c) => {
  const length = Number(c.req.header('Content-Length') ?? Number.NaN);
  if (length > MAX_UPLOAD_BODY_BYTES) {
    throw new ApiError(413, 'too_large', `uploads are limited to ${LIMITS.maxInitImageBytes} bytes of image`);
  }
  let form: FormData;
  try {
    form = await c.req.formData();
  } catch {
    throw new ApiError(400, 'invalid_request', 'send the image as multipart/form-data with an "image" file');
  }
  const file = form.get('image');
  if (typeof file === 'string' || file === null) {
    throw new ApiError(400, 'invalid_request', 'image: a file field named "image" is required', {
      field: 'image',
    });
  }
  const name = await storeUpload(c.env.IMAGES, file);
  return c.json({ name, subfolder: '', type: 'input' });
});

comfy.get('/object_info', (c) => {
  const definitions = nodeDefinitions(c.var.config);
  return c.json(
    Object.fromEntries(Object.entries(definitions).map(([name, d]) => [name, objectInfo(name, d)])),
  );
});

// An unknown node is `{}`, as in ComfyUI; clients probe for extensions this way.
comfy.get('/object_info/:node', (c) => {
  const name = c.req.param('node');
  const definitions = nodeDefinitions(c.var.config);
  return c.json(Object.hasOwn(definitions, name) ? { [name]: objectInfo(name, definitions[name]) } : {});
});

comfy.get('/system_stats', (c) =>
  c.json({
    system: {
      os: 'cloudflare-workers',
      comfyui_version: 'latent-edge',
      python_version: '',
      pytorch_version: '',
      embedded_python: false,
      argv: [],
      ram_total: 0,
      ram_free: 0,
    },
    devices: [],
  }),
);

comfy.get('/ws', async (c) => {
  if (c.req.header('Upgrade')?.toLowerCase() !== 'websocket') {
    throw new ApiError(400, 'invalid_request', '/ws is a websocket: send "Upgrade: websocket"');
  }
  return hubOf(c).fetch(c.req.raw);
});
