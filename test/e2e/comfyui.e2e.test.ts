// End to end with a ComfyUI client: @saintno/comfyui-sdk, unchanged but for its URL and key
// (its bearer_token credentials, sent on HTTP and on the websocket upgrade), against the stack
// `npm start` runs: the edge under `wrangler dev` and the real gpu-worker on CPU with the bundled
// tiny-sd. A standard txt2img workflow (ComfyUI's default graph in API format) runs through
// POST /prompt, its progress arrives on /ws, and its image comes back through /history and /view.
import { CallWrapper, ComfyApi, PromptBuilder } from '@saintno/comfyui-sdk';
import sharp from 'sharp';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../support/local-stack.ts';
import { pngSize } from '../support/png.ts';

let env: TestStack;
let api: ComfyApi;
let edge: string;
let key: string;
/** The first test's image, the second's starting point. */
let firstImage: { filename: string; subfolder: string; type: string };

/** ComfyUI's default workflow, exported with "Save (API Format)", sized for tiny-sd. */
const TXT2IMG = {
  '3': {
    _meta: { title: 'KSampler' },
    class_type: 'KSampler',
    inputs: {
      seed: 0,
      steps: 8,
      cfg: 7,
      sampler_name: 'euler',
      scheduler: 'normal',
      denoise: 1,
      model: ['4', 0],
      positive: ['6', 0],
      negative: ['7', 0],
      latent_image: ['5', 0],
    },
  },
  '4': {
    _meta: { title: 'Load Checkpoint' },
    class_type: 'CheckpointLoaderSimple',
    inputs: { ckpt_name: 'tiny-sd.safetensors' },
  },
  '5': {
    _meta: { title: 'Empty Latent Image' },
    class_type: 'EmptyLatentImage',
    inputs: { width: 96, height: 64, batch_size: 1 },
  },
  '6': {
    _meta: { title: 'CLIP Text Encode (Prompt)' },
    class_type: 'CLIPTextEncode',
    inputs: { text: '', clip: ['4', 1] },
  },
  '7': {
    _meta: { title: 'CLIP Text Encode (Prompt)' },
    class_type: 'CLIPTextEncode',
    inputs: { text: 'blurry', clip: ['4', 1] },
  },
  '8': {
    _meta: { title: 'VAE Decode' },
    class_type: 'VAEDecode',
    inputs: { samples: ['3', 0], vae: ['4', 2] },
  },
  '9': {
    _meta: { title: 'Save Image' },
    class_type: 'SaveImage',
    inputs: { filename_prefix: 'ComfyUI', images: ['8', 0] },
  },
};

beforeAll(async () => {
  env = await startTestStack();
  edge = env.info.edgeUrl;
  key = env.info.apiKey;
  api = new ComfyApi(edge, 'e2e-client', { credentials: { type: 'bearer_token', token: key } });
  // Listen before queueing: the SDK opens its websocket after init.
  const connected = new Promise<void>((resolve) => api.on('connected', () => resolve()));
  await api.init().waitForReady();
  await connected;
});

afterAll(async () => {
  api?.destroy();
  await env?.close();
});

function txt2img(prompt: string, seed: number) {
  return new PromptBuilder(TXT2IMG, ['prompt', 'seed'], ['images'])
    .setInputNode('prompt', '6.inputs.text')
    .setInputNode('seed', '3.inputs.seed')
    .setOutputNode('images', '9')
    .input('prompt', prompt)
    .input('seed', seed);
}

it('runs a standard txt2img workflow through the SDK, with websocket progress, and serves its image', async () => {
  const progress: { value: number; max: number }[] = [];
  let failure: unknown;
  const output = await new CallWrapper(api, txt2img('a red circle on a blue background', 42))
    .onProgress((p) => progress.push({ value: p.value, max: p.max }))
    .onFailed((error) => {
      failure = error;
    })
    .run();
  expect(failure).toBeUndefined();
  expect(output).not.toBe(false);
  const images = (output as { images: { images: { filename: string; subfolder: string; type: string }[] } })
    .images.images;
  expect(images).toHaveLength(1);
  expect(images[0].type).toBe('output');
  firstImage = images[0];
  // Step i of 8 from the gpu-worker, relayed by the edge to this client's websocket.
  expect(progress.length).toBeGreaterThan(0);
  expect(progress.every((p) => p.max === 8)).toBe(true);
  expect(progress.at(-1)?.value).toBe(8);

  const png = new Uint8Array(await (await api.getImage(images[0])).arrayBuffer());
  expect(pngSize(png)).toEqual({ width: 96, height: 64 });

  // The same generation asked natively is the same image, from the result cache: the graph's
  // sampler, scheduler, cfg, seed, steps and size mean what they say.
  const native = await fetch(`${edge}/v1/images`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({
      prompt: 'a red circle on a blue background',
      negative_prompt: 'blurry',
      model: 'tiny-sd',
      width: 96,
      height: 64,
      steps: 8,
      guidance_scale: 7,
      scheduler: 'euler',
      seed: 42,
    }),
  });
  expect(native.status).toBe(200);
  const body = (await native.json()) as { images: { url: string; cached: boolean }[] };
  expect(body.images[0].cached).toBe(true);
  expect(body.images[0].url.endsWith(`/i/${images[0].filename}`)).toBe(true);

  // History and queue as ComfyUI shows them.
  const promptId = Object.keys(await api.getHistories())[0];
  const entry = await api.getHistory(promptId);
  expect(entry?.status).toMatchObject({ status_str: 'success', completed: true });
  expect(entry?.outputs['9'].images).toEqual(images);
  const queue = await api.getQueue();
  expect(queue.queue_running).toEqual([]);
  expect(queue.queue_pending).toEqual([]);
});

it('runs img2img from an uploaded image (LoadImage → VAEEncode, denoise as strength)', async () => {
  const source = await (await api.getImage(firstImage)).arrayBuffer();
  const uploaded = await api.uploadImage(new Uint8Array(source), 'start.png');
  expect(uploaded).not.toBe(false);
  const name = (uploaded as { info: { filename: string } }).info.filename;
  const workflow = {
    ...TXT2IMG,
    '3': { ...TXT2IMG['3'], inputs: { ...TXT2IMG['3'].inputs, denoise: 0.5, latent_image: ['11', 0] } },
    '6': { ...TXT2IMG['6'], inputs: { ...TXT2IMG['6'].inputs, text: 'a green square' } },
    '10': { _meta: { title: 'Load Image' }, class_type: 'LoadImage', inputs: { image: name } },
    '11': {
      _meta: { title: 'VAE Encode' },
      class_type: 'VAEEncode',
      inputs: { pixels: ['10', 0], vae: ['4', 2] },
    },
  };
  delete (workflow as Record<string, unknown>)['5'];
  let failure: Error | undefined;
  const output = await new CallWrapper(
    api,
    new PromptBuilder(workflow, [], ['images']).setOutputNode('images', '9'),
  )
    .onFailed((error) => {
      failure ??= error;
    })
    .run();
  expect(failure ? `${failure.message}: ${JSON.stringify(failure.cause)}` : undefined).toBeUndefined();
  expect(output).not.toBe(false);
  const image = (output as { images: { images: { filename: string; type: 'output'; subfolder: string }[] } })
    .images.images[0];
  const png = new Uint8Array(await (await api.getImage(image)).arrayBuffer());
  expect(pngSize(png)).toEqual({ width: 96, height: 64 });
  // Another image than its source: the sampler did repaint half of it.
  expect(Buffer.from(png).equals(Buffer.from(source))).toBe(false);
});

it('refuses a workflow with a node this server does not run, through the SDK, in ComfyUI’s shape', async () => {
  const workflow = {
    ...TXT2IMG,
    '10': {
      _meta: { title: 'Load Upscale Model' },
      class_type: 'UpscaleModelLoader',
      inputs: { model_name: 'x4.pth' },
    },
  };
  let failure: Error | undefined;
  const output = await new CallWrapper(
    api,
    new PromptBuilder(workflow, [], ['images']).setOutputNode('images', '9'),
  )
    .onFailed((error) => {
      // The SDK reports the refusal, then that run() got no job; the first says why.
      failure ??= error;
    })
    .run();
  expect(output).toBe(false);
  expect(failure?.name).toBe('EnqueueFailedError');
  const cause = failure?.cause as {
    error: { type: string; message: string };
    node_errors: Record<string, unknown>;
  };
  expect(cause.error.type).toBe('missing_node_type');
  expect(cause.error.message).toContain('UpscaleModelLoader (node 10)');
  expect(Object.keys(cause.node_errors)).toEqual(['10']);
});

it('inpaints with SetLatentNoiseMask from a LoadImage MASK, every opaque pixel unchanged', async () => {
  // A 64 × 64 magenta-free canvas whose centre square is transparent: ComfyUI's LoadImage MASK.
  const rgba = new Uint8Array(64 * 64 * 4);
  for (let p = 0; p < 64 * 64; p++) rgba.set([0, 0, 255, 255], p * 4);
  for (let y = 16; y < 48; y++) for (let x = 16; x < 48; x++) rgba[(y * 64 + x) * 4 + 3] = 0;
  const picture = await sharp(rgba, { raw: { width: 64, height: 64, channels: 4 } })
    .png()
    .toBuffer();
  const uploaded = await api.uploadImage(new Uint8Array(picture), 'masked.png');
  expect(uploaded).not.toBe(false);
  const name = (uploaded as { info: { filename: string } }).info.filename;
  const workflow = {
    ...TXT2IMG,
    '3': { ...TXT2IMG['3'], inputs: { ...TXT2IMG['3'].inputs, denoise: 1, latent_image: ['12', 0] } },
    '6': { ...TXT2IMG['6'], inputs: { ...TXT2IMG['6'].inputs, text: 'a red circle in the center' } },
    '10': { _meta: { title: 'Load Image' }, class_type: 'LoadImage', inputs: { image: name } },
    '11': {
      _meta: { title: 'VAE Encode' },
      class_type: 'VAEEncode',
      inputs: { pixels: ['10', 0], vae: ['4', 2] },
    },
    '12': {
      _meta: { title: 'Set Latent Noise Mask' },
      class_type: 'SetLatentNoiseMask',
      inputs: { samples: ['11', 0], mask: ['10', 1] },
    },
  };
  delete (workflow as Record<string, unknown>)['5'];
  let failure: Error | undefined;
  const output = await new CallWrapper(
    api,
    new PromptBuilder(workflow, [], ['images']).setOutputNode('images', '9'),
  )
    .onFailed((error) => {
      failure ??= error;
    })
    .run();
  expect(failure ? `${failure.message}: ${JSON.stringify(failure.cause)}` : undefined).toBeUndefined();
  const [image] = (output as { images: { images: { filename: string; subfolder: string; type: string }[] } })
    .images.images;
  const out = await sharp(Buffer.from(await (await api.getImage(image)).arrayBuffer()))
    .removeAlpha()
    .raw()
    .toBuffer();
  let kept = 0;
  let opaque = 0;
  let changed = 0;
  for (let p = 0; p < 64 * 64; p++) {
    const same = out[p * 3] === 0 && out[p * 3 + 1] === 0 && out[p * 3 + 2] === 255;
    if (rgba[p * 4 + 3] === 255) {
      opaque++;
      if (same) kept++;
    } else if (!same) changed++;
  }
  expect(kept).toBe(opaque);
  expect(changed).toBeGreaterThan(0);
});
