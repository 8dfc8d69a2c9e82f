// The ComfyUI-compatible API inside workerd: what a refused workflow answers (ComfyUI's error
// shape, nothing queued or stored), what the node descriptions say, uploads and their limits, and
// one accepted workflow run through the real local Queue to the fake gpu-worker, heard on /ws.
import { env, SELF } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  call,
  createApiKey,
  eventually,
  gpuCalls,
  gpuCancels,
  ORIGIN,
  pngHeaderBase64,
  uniquePrompt,
} from './support/api.ts';
import { txt2img } from './support/comfy-workflow.ts';

let key: string;
let owner: string;
beforeAll(async () => {
  const created = await createApiKey({ rateLimit: { requests: 1000, window_seconds: 60 } });
  key = created.key;
  owner = created.record.id;
});

interface HistoryEntry {
  status: { status_str: string; completed: boolean; messages: [string, unknown][] };
  outputs: Record<string, { images: { filename: string; subfolder: string; type: string }[] }>;
}
type History = Record<string, HistoryEntry>;

interface NodeInfo {
  input: { required: Record<string, [unknown, ...unknown[]]> };
  output_node: boolean;
}

interface ComfyError {
  error: { type: string; code: string; message: string; details: string };
  node_errors: Record<
    string,
    { errors: { type: string; message: string; details: string }[]; class_type: string }
  >;
}

/** As the SDK sends it: no JSON media type (its fetch wrapper drops the header). */
function postPrompt(prompt: unknown, clientId = 'test-client') {
  return call('/prompt', { method: 'POST', key, body: JSON.stringify({ prompt, client_id: clientId }) });
}

async function refused(prompt: unknown): Promise<ComfyError> {
  const response = await postPrompt(prompt);
  expect(response.status).toBe(400);
  return response.json();
}

async function nothingQueued(text: string) {
  const queueResponse = await call('/queue', { key });
  const queue = (await queueResponse.json()) as Record<string, unknown[]>;
  expect(queue).toEqual({ queue_running: expect.any(Array), queue_pending: [] });
  expect(await gpuCalls(text)).toEqual([]);
}

describe('POST /prompt refusals', () => {
  it('answers 401 without an API key', async () => {
    const response = await call('/prompt', {
      method: 'POST',
      body: JSON.stringify({ prompt: txt2img('x') }),
    });
    expect(response.status).toBe(401);
  });

  it('lists every node type it does not run, and queues nothing', async () => {
    const text = uniquePrompt('unknown nodes');
    const workflow = {
      ...txt2img(text),
      '10': { class_type: 'UpscaleModelLoader', inputs: {} },
      '11': { class_type: 'ControlNetApply', inputs: {} },
      '12': { class_type: 'constructor', inputs: {} },
    };
    const body = await refused(workflow);
    expect(body.error.type).toBe('missing_node_type');
    expect(body.error.code).toBe('missing_node_type');
    expect(body.error.message).toBe(
      'this server does not run these nodes: UpscaleModelLoader (node 10), ControlNetApply (node 11), constructor (node 12)',
    );
    expect(Object.keys(body.node_errors).sort()).toEqual(['10', '11', '12']);
    await nothingQueued(text);
  });

  it('refuses a SetLatentNoiseMask over an empty latent: there is no picture to inpaint', async () => {
    const text = uniquePrompt('mask');
    const workflow = txt2img(text);
    workflow['10'] = { class_type: 'LoadImage', inputs: { image: `${'0'.repeat(64)}.png` } };
    workflow['12'] = { class_type: 'SetLatentNoiseMask', inputs: { samples: ['5', 0], mask: ['10', 1] } };
    workflow['3'].inputs.latent_image = ['12', 0];
    const body = await refused(workflow);
    expect(JSON.stringify(body)).toContain('a noise mask needs the latent of a VAEEncode');
    await nothingQueued(text);
  });

  it('refuses a dependency cycle', async () => {
    const text = uniquePrompt('cycle');
    const workflow = txt2img(text);
    // The sampler's latent comes from the decoder that decodes the sampler: 3 → 8 → 3 via VAEEncode.
    workflow['13'] = { class_type: 'VAEEncode', inputs: { pixels: ['8', 0], vae: ['4', 2] } };
    workflow['3'].inputs.latent_image = ['13', 0];
    const body = await refused(workflow);
    expect(body.error.type).toBe('prompt_outputs_failed_validation');
    const types = Object.values(body.node_errors).flatMap((n) => n.errors.map((e) => e.type));
    expect(types).toContain('dependency_cycle');
    await nothingQueued(text);
  });

  it('refuses a link to a node that is not there', async () => {
    const workflow = txt2img('missing link');
    workflow['8'].inputs.vae = ['40', 2];
    const body = await refused(workflow);
    expect(body.node_errors['8'].errors[0]).toMatchObject({ type: 'missing_link' });
  });

  it('refuses a link to an inherited property name as a missing node, not a 500', async () => {
    const workflow = txt2img('prototype link');
    workflow['8'].inputs.vae = ['constructor', 0];
    const body = await refused(workflow);
    expect(body.node_errors['8'].errors[0]).toMatchObject({ type: 'missing_link' });
  });

  it('refuses a link of the wrong type', async () => {
    const workflow = txt2img('wrong type');
    workflow['3'].inputs.positive = ['4', 1];
    const body = await refused(workflow);
    expect(body.node_errors['3'].errors[0].type).toBe('return_type_mismatch');
    expect(body.node_errors['3'].errors[0].details).toContain(
      'received_type(CLIP) mismatch input_type(CONDITIONING)',
    );
  });

  it('refuses a missing input and an out-of-range value, naming both', async () => {
    const workflow = txt2img('values');
    delete workflow['3'].inputs.cfg;
    workflow['3'].inputs.steps = 0;
    const body = await refused(workflow);
    expect(body.node_errors['3'].errors.map((e) => e.type).sort()).toEqual([
      'required_input_missing',
      'value_smaller_than_min',
    ]);
  });

  it("tells a model's own limit as the node input it came from", async () => {
    const workflow = txt2img('too many steps');
    workflow['3'].inputs.steps = 60;
    const body = await refused(workflow);
    expect(body.node_errors['3'].errors[0].message).toBe(
      'steps: 60 is above model "tiny-sd"\'s maximum of 50',
    );
  });

  it('refuses an unknown checkpoint and a sampler pair it does not run', async () => {
    const workflow = txt2img('checkpoint');
    workflow['4'].inputs.ckpt_name = 'v1-5-pruned-emaonly.safetensors';
    expect((await refused(workflow)).node_errors['4'].errors[0].type).toBe('value_not_in_list');
    const karras = txt2img('karras');
    karras['3'].inputs.scheduler = 'karras';
    expect((await refused(karras)).node_errors['3'].errors[0].message).toContain('karras only with dpmpp_2m');
  });

  it('refuses a workflow without an output', async () => {
    const workflow = txt2img('no output');
    delete (workflow as Record<string, unknown>)['9'];
    expect((await refused(workflow)).error.type).toBe('prompt_no_outputs');
  });

  it('refuses a body without a prompt', async () => {
    const response = await call('/prompt', { method: 'POST', key, body: '{}' });
    expect(response.status).toBe(400);
    expect(((await response.json()) as ComfyError).error.type).toBe('no_prompt');
  });
});

describe('node descriptions', () => {
  it('GET /object_info lists the nodes run here, with the served checkpoints', async () => {
    const info = (await (await call('/object_info', { key })).json()) as Record<string, NodeInfo>;
    expect(Object.keys(info).sort()).toEqual(
      [
        'CLIPTextEncode',
        'CheckpointLoaderSimple',
        'EmptyLatentImage',
        'KSampler',
        'KSamplerAdvanced',
        'LoadImage',
        'LoraLoader',
        'SaveImage',
        'SetLatentNoiseMask',
        'VAEDecode',
        'VAEEncode',
      ].sort(),
    );
    expect(info.CheckpointLoaderSimple.input.required.ckpt_name[0]).toContain('tiny-sd');
    expect(info.KSampler.input.required.sampler_name[0]).toContain('euler');
    expect(info.SaveImage.output_node).toBe(true);
  });

  it('GET /object_info/:node answers {} for a node it does not run', async () => {
    expect(await (await call('/object_info/UpscaleModelLoader', { key })).json()).toEqual({});
    const one = (await (await call('/object_info/KSampler', { key })).json()) as Record<string, unknown>;
    expect(Object.keys(one)).toEqual(['KSampler']);
  });
});

describe('POST /upload/image', () => {
  const PNG_HEAD = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d];

  function upload(bytes: Uint8Array) {
    const form = new FormData();
    form.append('image', new Blob([bytes]), 'x.png');
    return call('/upload/image', { method: 'POST', key, body: form });
  }

  it('stores an image content-addressed and serves it back through /view?type=input', async () => {
    const header = Uint8Array.from(atob(pngHeaderBase64(64, 64)), (c) => c.charCodeAt(0));
    const bytes = new Uint8Array([...header, ...crypto.getRandomValues(new Uint8Array(20))]);
    const response = await upload(bytes);
    expect(response.status).toBe(200);
    const { name, type } = (await response.json()) as { name: string; type: string };
    expect(type).toBe('input');
    expect(name).toMatch(/^[0-9a-f]{64}\.png$/);
    const view = await call(`/view?filename=${name}&type=input&subfolder=`, { key });
    expect(new Uint8Array(await view.arrayBuffer())).toEqual(bytes);
  });

  it('refuses a file that is not an image, and stores nothing', async () => {
    const bytes = new TextEncoder().encode('not an image at all, just text');
    const response = await upload(bytes);
    expect(response.status).toBe(400);
    const listed = await env.IMAGES.list({ prefix: 'inputs/' });
    const hash = [...new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))]
      .map((b) => b.toString(16).padStart(2, '0'))
      .join('');
    expect(listed.objects.map((o) => o.key)).not.toContain(`inputs/${hash}`);
  });

  it('refuses an oversize upload with 413', async () => {
    const bytes = new Uint8Array(8 * 1024 * 1024 + 100);
    bytes.set(PNG_HEAD);
    const response = await upload(bytes);
    expect(response.status).toBe(413);
  });
});

describe('an accepted workflow', () => {
  it('runs through the queue, tells the websocket, and lands in /history with its image', async () => {
    const socketResponse = await SELF.fetch(`${ORIGIN}/ws?clientId=ws-test&token=${key}`, {
      headers: { Upgrade: 'websocket' },
    });
    expect(socketResponse.status).toBe(101);
    const socket = socketResponse.webSocket as WebSocket;
    socket.accept();
    const messages: { type: string; data: Record<string, unknown> }[] = [];
    socket.addEventListener('message', (event) => messages.push(JSON.parse(event.data as string)));

    const text = uniquePrompt('a lighthouse');
    const response = await postPrompt(txt2img(text), 'ws-test');
    expect(response.status).toBe(200);
    const { prompt_id: promptId, node_errors } = (await response.json()) as {
      prompt_id: string;
      node_errors: object;
    };
    expect(node_errors).toEqual({});

    const entry = await eventually(
      async () => ((await (await call(`/history/${promptId}`, { key })).json()) as History)[promptId],
    );
    expect(entry.status).toMatchObject({ status_str: 'success', completed: true });
    const [image] = entry.outputs['9'].images;
    expect(image).toMatchObject({ subfolder: '', type: 'output' });
    const view = await call(`/view?filename=${image.filename}&type=output&subfolder=`, { key });
    expect(view.status).toBe(200);
    expect(view.headers.get('Content-Type')).toBe('image/png');

    // The fake gpu-worker got the graph's parameters.
    const [job] = await gpuCalls(text);
    expect(job).toMatchObject({
      steps: 4,
      scheduler: 'euler',
      guidance_scale: 7,
      width: 64,
      height: 64,
      seeds: [5],
    });

    for (let i = 0; i < 50 && !messages.some((m) => m.type === 'execution_success'); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const types = messages.map((m) => m.type);
    expect(types[0]).toBe('status');
    expect(messages[0].data.sid).toBe('ws-test');
    for (const type of ['execution_start', 'executing', 'executed', 'execution_success'])
      expect(types).toContain(type);
    const executed = messages.find((m) => m.type === 'executed');
    expect(executed?.data).toMatchObject({ node: '9', prompt_id: promptId, output: { images: [image] } });
    socket.close();

    // Another key sees none of it.
    const other = await createApiKey();
    expect(await (await call(`/history/${promptId}`, { key: other.key })).json()).toEqual({});
    expect(owner).toBeTruthy();
  });

  it('POST /interrupt stops the running run: cancelled on the gpu-worker, interrupted on /ws and in /history', async () => {
    const socketResponse = await SELF.fetch(`${ORIGIN}/ws?clientId=interrupt-test&token=${key}`, {
      headers: { Upgrade: 'websocket' },
    });
    const socket = socketResponse.webSocket as WebSocket;
    socket.accept();
    const messages: { type: string; data: Record<string, unknown> }[] = [];
    socket.addEventListener('message', (event) => messages.push(JSON.parse(event.data as string)));

    // The fake gpu-worker takes 150 ms a step for a prompt with step-delay-150: 20 steps, 3 s.
    const workflow = txt2img(uniquePrompt('a slow comet step-delay-150'));
    workflow['3'].inputs.steps = 20;
    const { prompt_id: promptId } = (await (await postPrompt(workflow, 'interrupt-test')).json()) as {
      prompt_id: string;
    };
    const progress = await eventually(async () => messages.find((m) => m.type === 'progress'));
    expect(progress.data).toMatchObject({ max: 20, prompt_id: promptId, node: '3' });
    const queue = (await (await call('/queue', { key })).json()) as { queue_running: unknown[][] };
    expect(queue.queue_running.map((item) => item[1])).toEqual([promptId]);

    expect((await call('/interrupt', { method: 'POST', key })).status).toBe(200);
    const entry = await eventually(async () => {
      const history = (await (await call(`/history/${promptId}`, { key })).json()) as History;
      return history[promptId];
    });
    expect(entry.status).toMatchObject({ status_str: 'error', completed: false });
    expect(entry.status.messages.map((m) => m[0])).toContain('execution_interrupted');
    expect(entry.outputs).toEqual({});
    expect((await gpuCancels(promptId)).length).toBeGreaterThan(0);
    await eventually(async () => messages.find((m) => m.type === 'execution_interrupted'));
    socket.close();
  });

  it('applies a LoraLoader between the checkpoint and the sampler and text encoders', async () => {
    const text = uniquePrompt('a striped kite');
    const workflow = txt2img(text);
    workflow['10'] = {
      class_type: 'LoraLoader',
      inputs: {
        model: ['4', 0],
        clip: ['4', 1],
        lora_name: 'candy-stripes.safetensors',
        strength_model: 0.8,
        strength_clip: 0.8,
      },
    };
    workflow['3'].inputs.model = ['10', 0];
    workflow['6'].inputs.clip = ['10', 1];
    workflow['7'].inputs.clip = ['10', 1];
    expect((await postPrompt(workflow)).status).toBe(200);
    const [job] = await eventually(async () => {
      const calls = await gpuCalls(text);
      return calls.length > 0 ? calls : undefined;
    });
    expect(job.loras).toEqual([{ name: 'candy-stripes', sha256: expect.any(String), weight: 0.8 }]);

    // The negative prompt's CLIP without the LoRA is another model: refused, naming its node.
    workflow['7'].inputs.clip = ['4', 1];
    expect(Object.keys((await refused(workflow)).node_errors)).toEqual(['7']);
    workflow['7'].inputs.clip = ['10', 1];
    workflow['10'].inputs.strength_clip = 0.5;
    expect((await refused(workflow)).node_errors['10'].errors[0].message).toContain('must be equal');
  });

  it('POST /queue drops a pending run: interrupted in /history, never sent to a gpu-worker', async () => {
    const slow = txt2img(uniquePrompt('a slow glacier step-delay-150'));
    slow['3'].inputs.steps = 20;
    const first = (await (await postPrompt(slow)).json()) as { prompt_id: string };
    const text = uniquePrompt('a dropped lantern');
    const second = (await (await postPrompt(txt2img(text))).json()) as { prompt_id: string };
    const queue = (await (await call('/queue', { key })).json()) as Record<string, unknown[][]>;
    const pending = queue.queue_pending.map((item) => item[1]);
    expect(pending).toContain(second.prompt_id);

    const response = await call('/queue', {
      method: 'POST',
      key,
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ delete: [second.prompt_id] }),
    });
    expect(response.status).toBe(200);
    const history = (await (await call(`/history/${second.prompt_id}`, { key })).json()) as History;
    expect(history[second.prompt_id].status.messages.map((m) => m[0])).toContain('execution_interrupted');
    // The first run goes on to its end; the dropped one never reaches a gpu-worker.
    await eventually(async () => {
      const done = (await (await call(`/history/${first.prompt_id}`, { key })).json()) as Record<
        string,
        unknown
      >;
      return done[first.prompt_id];
    });
    expect(await gpuCalls(text)).toEqual([]);
  });

  it('takes ?token= only on a websocket upgrade', async () => {
    expect((await call(`/queue?token=${key}`)).status).toBe(401);
  });

  it('refuses a websocket without a key', async () => {
    const response = await SELF.fetch(`${ORIGIN}/ws?clientId=x`, { headers: { Upgrade: 'websocket' } });
    expect(response.status).toBe(401);
  });
});
