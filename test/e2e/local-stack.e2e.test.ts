// End to end: the stack `npm start` runs (infra/dev/stack.ts), real processes on loopback ports:
// the gpu-worker on CPU with the bundled model, and the edge under `wrangler dev` with its local
// R2, KV, Durable Objects and Queue persisted in a temporary folder. Clients talk HTTP to the
// edge only; the gpu-worker is looked at through its /metrics and killed to show failure.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI, { toFile } from 'openai';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPngText } from '../../gpu-worker/src/image/png-text.ts';
import { metricValue } from '../support/gpu-worker-process.ts';
import { startTestStack, type TestStack } from '../support/local-stack.ts';
import { endsWithIend, pngSize } from '../support/png.ts';
import {
  startWebhookReceiver,
  verifiesStandardWebhook,
  type WebhookReceiver,
} from '../support/webhook-receiver.ts';

let env: TestStack;
let receiver: WebhookReceiver;
let edge: string;
let key: string;
let revision: string;

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  env = await startTestStack({
    // The webhook receiver listens on 127.0.0.1, which only local development may target.
    edgeVars: { ALLOW_LOCAL_WEBHOOKS: 'true' },
  });
  edge = env.info.edgeUrl;
  key = env.info.apiKey;
  revision = env.info.models[0].revision;
});

afterAll(async () => {
  await env?.close();
  await receiver?.close();
});

function post(path: string, body: object): Promise<Response> {
  return fetch(`${edge}${path}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
}

async function bytesOf(url: string): Promise<Uint8Array> {
  expect(url.startsWith(`${edge}/i/`)).toBe(true);
  const response = await fetch(url);
  expect(response.status).toBe(200);
  expect(response.headers.get('Content-Type')).toBe('image/png');
  return new Uint8Array(await response.arrayBuffer());
}

/** AUTOMATIC1111's infotext, written out by hand for the exact request (modules/processing.py). */
function infotext(prompt: string, negative: string, settings: string): string {
  const model = `Model hash: ${revision.slice(0, 10)}, Model: tiny-sd`;
  return `${prompt}${negative ? `\nNegative prompt: ${negative}` : ''}\n${settings}, ${model}`;
}

interface ImagesBody {
  id: string;
  images: { url: string; seed: number; width: number; height: number; cached: boolean }[];
}

/** Files of the local R2 bucket's object bodies in wrangler's persistence folder. */
function r2Blobs(): string[] {
  const dir = join(env.persistTo, 'v3/r2/latent-edge-images/blobs');
  return readdirSync(dir).map((name) => join(dir, name));
}

const NATIVE = {
  prompt: 'a red circle on a blue background',
  negative_prompt: 'blurry',
  width: 96,
  height: 64,
  steps: 8,
  scheduler: 'euler',
  seed: 42,
};
let nativeUrl: string;
let nativeBytes: Uint8Array;

describe('the local stack, end to end', () => {
  it('native POST /v1/images returns a PNG of the asked size with its parameters chunk', async () => {
    const response = await post('/v1/images', NATIVE);
    expect(response.status).toBe(200);
    expect(response.headers.get('X-Cache')).toBe('MISS');
    const body = (await response.json()) as ImagesBody;
    expect(body.images).toHaveLength(1);
    expect(body.images[0]).toMatchObject({ seed: 42, width: 96, height: 64, cached: false });

    nativeUrl = body.images[0].url;
    nativeBytes = await bytesOf(nativeUrl);
    expect(pngSize(nativeBytes)).toEqual({ width: 96, height: 64 });
    expect(readPngText(nativeBytes).parameters).toBe(
      infotext(NATIVE.prompt, 'blurry', 'Steps: 8, Sampler: Euler, CFG scale: 7.5, Seed: 42, Size: 96x64'),
    );
  });

  it('answers an identical repeat from the cache, without a job on the gpu-worker', async () => {
    const gpu = env.info.gpuUrl;
    const jobsBefore = await metricValue(gpu, 'latent_edge_jobs_total');
    const imagesBefore = await metricValue(gpu, 'latent_edge_images_total');
    expect(jobsBefore).toBeGreaterThan(0); // the first test's job (and the warm-up's) are counted

    const response = await post('/v1/images', NATIVE);
    expect(response.status).toBe(200);
    expect(response.headers.get('X-Cache')).toBe('HIT');
    const body = (await response.json()) as ImagesBody;
    expect(body.images[0]).toMatchObject({ url: nativeUrl, cached: true });
    expect(await bytesOf(body.images[0].url)).toEqual(nativeBytes);

    expect(await metricValue(gpu, 'latent_edge_jobs_total')).toBe(jobsBefore);
    expect(await metricValue(gpu, 'latent_edge_images_total')).toBe(imagesBefore);
  });

  it('generates through /v1/images/generations with the official openai SDK', async () => {
    const client = new OpenAI({ apiKey: key, baseURL: `${edge}/v1`, maxRetries: 0 });
    const request = {
      model: 'dall-e-2',
      prompt: 'a small green star',
      size: '128x64',
      n: 1,
      response_format: 'url',
      // Our extras, beside OpenAI's own fields.
      seed: 3,
      steps: 8,
      scheduler: 'ddim',
    } as unknown as OpenAI.ImageGenerateParamsNonStreaming;
    const { data: result, response } = await client.images.generate(request).withResponse();
    expect(response.headers.get('X-Cache')).toBe('MISS');
    expect(result.data).toHaveLength(1);

    const png = await bytesOf(result.data?.[0].url ?? '');
    expect(pngSize(png)).toEqual({ width: 128, height: 64 });
    expect(readPngText(png).parameters).toBe(
      infotext('a small green star', '', 'Steps: 8, Sampler: DDIM, CFG scale: 7.5, Seed: 3, Size: 128x64'),
    );
  });

  it('edits the masked area with the openai SDK (images.edit), every pixel outside it unchanged', async () => {
    const client = new OpenAI({ apiKey: key, baseURL: `${edge}/v1`, maxRetries: 0 });
    const canvas = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#0000ff' } })
      .png()
      .toBuffer();
    // OpenAI's mask: opaque keeps, transparent repaints; here the centre cell 21..42.
    const alpha = Buffer.alloc(64 * 64 * 4, 255);
    for (let y = 21; y < 42; y++) for (let x = 21; x < 42; x++) alpha[(y * 64 + x) * 4 + 3] = 0;
    const mask = await sharp(alpha, { raw: { width: 64, height: 64, channels: 4 } })
      .png()
      .toBuffer();
    const request = {
      model: 'dall-e-2',
      image: await toFile(canvas, 'canvas.png', { type: 'image/png' }),
      mask: await toFile(mask, 'mask.png', { type: 'image/png' }),
      prompt: 'a large red circle in the center on a blue background',
      response_format: 'b64_json',
      // Our extras: a hard mask edge, so "outside" is exactly the opaque pixels.
      mask_blur: 0,
      seed: 5,
      steps: 8,
    } as unknown as OpenAI.ImageEditParamsNonStreaming;
    const result = await client.images.edit(request);
    const png = Buffer.from(result.data?.[0].b64_json ?? '', 'base64');
    expect(pngSize(png)).toEqual({ width: 64, height: 64 });
    const out = await sharp(png).removeAlpha().raw().toBuffer();
    const init = await sharp(canvas).raw().toBuffer();
    let kept = 0;
    let outside = 0;
    let changedInside = 0;
    for (let p = 0; p < 64 * 64; p++) {
      const same =
        out[p * 3] === init[p * 3] &&
        out[p * 3 + 1] === init[p * 3 + 1] &&
        out[p * 3 + 2] === init[p * 3 + 2];
      if (alpha[p * 4 + 3] === 255) {
        outside++;
        if (same) kept++;
      } else if (!same) changedInside++;
    }
    expect(kept).toBe(outside);
    expect(changedInside).toBeGreaterThan(0);

    // A mask that repaints nothing is the client's error too, found where the pictures are read.
    const opaque = await sharp(Buffer.alloc(64 * 64 * 4, 255), {
      raw: { width: 64, height: 64, channels: 4 },
    })
      .png()
      .toBuffer();
    await expect(
      client.images.edit({ ...request, mask: await toFile(opaque, 'mask.png', { type: 'image/png' }) }),
    ).rejects.toMatchObject({ status: 400, error: { field: 'mask' } });

    // A mask of another size is the client's error, before any gpu-worker work.
    const small = await sharp(alpha, { raw: { width: 64, height: 64, channels: 4 } })
      .resize(32, 32)
      .png()
      .toBuffer();
    await expect(
      client.images.edit({ ...request, mask: await toFile(small, 'mask.png', { type: 'image/png' }) }),
    ).rejects.toMatchObject({ status: 400 });
  });

  it('makes variations with the openai SDK (images.createVariation) at the image size', async () => {
    const client = new OpenAI({ apiKey: key, baseURL: `${edge}/v1`, maxRetries: 0 });
    const first = await post('/v1/images', {
      prompt: 'a yellow square',
      seed: 12,
      steps: 8,
      width: 64,
      height: 64,
    });
    const source = await bytesOf(((await first.json()) as { images: { url: string }[] }).images[0].url);
    const result = await client.images.createVariation({
      image: await toFile(source, 'source.png', { type: 'image/png' }),
      n: 2,
      response_format: 'url',
      seed: 1,
      steps: 8,
    } as unknown as OpenAI.ImageCreateVariationParams);
    expect(result.data).toHaveLength(2);
    const [a, b] = await Promise.all((result.data ?? []).map((d) => bytesOf(d.url ?? '')));
    expect(pngSize(a)).toEqual({ width: 64, height: 64 });
    expect(Buffer.compare(Buffer.from(a), Buffer.from(b))).not.toBe(0);
    expect(readPngText(a).parameters).toContain('Denoising strength: 0.6');
  });

  it('inpaints through AUTOMATIC1111 POST /sdapi/v1/img2img as webui clients send it, outside the mask unchanged', async () => {
    const canvas = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#ffff00' } })
      .png()
      .toBuffer();
    const white = Buffer.alloc(64 * 64);
    for (let y = 8; y < 40; y++) white.fill(255, y * 64 + 24, y * 64 + 56);
    const mask = await sharp(white, { raw: { width: 64, height: 64, channels: 1 } })
      .png()
      .toBuffer();
    const init = await sharp(canvas).raw().toBuffer();
    for (const inpaint_full_res of [false, true]) {
      // The payload of sdwebuiapi's img2img(): data-URL images, A1111's inpainting knobs, extras.
      const response = await post('/sdapi/v1/img2img', {
        init_images: [`data:image/png;base64,${canvas.toString('base64')}`],
        mask: mask.toString('base64'),
        prompt: 'a red circle on the top right',
        denoising_strength: 1,
        mask_blur: 0,
        inpainting_fill: 1,
        inpaint_full_res,
        inpaint_full_res_padding: 8,
        inpainting_mask_invert: 0,
        resize_mode: 0,
        steps: 8,
        seed: 4,
        sampler_name: 'DDIM',
        alwayson_scripts: {},
        send_images: true,
      });
      expect(response.status).toBe(200);
      const body = (await response.json()) as { images: string[]; info: string };
      const info = JSON.parse(body.info) as { denoising_strength: number; warnings: string[]; width: number };
      expect(info).toMatchObject({ denoising_strength: 1, warnings: [], width: 64 });
      const out = await sharp(Buffer.from(body.images[0], 'base64')).removeAlpha().raw().toBuffer();
      let kept = 0;
      let outside = 0;
      for (let p = 0; p < 64 * 64; p++) {
        if (white[p]) continue;
        outside++;
        if ([0, 1, 2].every((k) => out[p * 3 + k] === init[p * 3 + k])) kept++;
      }
      expect(kept, `inpaint_full_res ${inpaint_full_res}`).toBe(outside);
    }
  });

  it('generates through AUTOMATIC1111 POST /sdapi/v1/txt2img with the infotext in PNG and info', async () => {
    const response = await post('/sdapi/v1/txt2img', {
      prompt: 'a blue square',
      negative_prompt: 'text',
      width: 64,
      height: 96,
      steps: 6,
      cfg_scale: 5,
      seed: 7,
      sampler_name: 'Euler a',
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { images: string[]; info: string };
    expect(body.images).toHaveLength(1);
    const png = new Uint8Array(Buffer.from(body.images[0], 'base64'));
    expect(pngSize(png)).toEqual({ width: 64, height: 96 });
    const expected = infotext(
      'a blue square',
      'text',
      'Steps: 6, Sampler: Euler a, CFG scale: 5, Seed: 7, Size: 64x96',
    );
    expect(readPngText(png).parameters).toBe(expected);
    expect((JSON.parse(body.info) as { infotexts: string[] }).infotexts).toEqual([expected]);
  });

  it("delivers an async job's outcome to its webhook, signed with the key's webhook secret", async () => {
    const response = await post('/v1/images', {
      prompt: 'a yellow triangle',
      width: 64,
      height: 64,
      steps: 8,
      seed: 11,
      webhook: `${receiver.url}/hooks/yellow`,
    });
    expect(response.status).toBe(202);
    const job = (await response.json()) as { id: string; status: string };
    expect(job.status).toBe('queued');

    const delivery = await receiver.delivery('/hooks/yellow', 90_000);
    const outcome = JSON.parse(delivery.body) as { id: string; status: string; result: ImagesBody };
    expect(outcome).toMatchObject({ id: job.id, status: 'succeeded' });
    expect(pngSize(await bytesOf(outcome.result.images[0].url))).toEqual({ width: 64, height: 64 });

    // Standard Webhooks (spec/standard-webhooks.md), verified here with node:crypto rather than
    // the Worker's WebCrypto code: HMAC-SHA256 of `${id}.${timestamp}.${body}` under the
    // base64-decoded `whsec_` secret, sent as space-separated `v1,<base64>` signatures.
    const secretResponse = await fetch(`${edge}/v1/webhook-secret`, {
      headers: { Authorization: `Bearer ${key}` },
    });
    const { secret } = (await secretResponse.json()) as { secret: string };
    const timestamp = String(delivery.headers['webhook-timestamp']);
    expect(Math.abs(Date.now() / 1000 - Number(timestamp))).toBeLessThan(300);
    expect(verifiesStandardWebhook(secret, delivery)).toBe(true);
    expect(verifiesStandardWebhook(secret, delivery, delivery.body.replace('succeeded', 'failed'))).toBe(
      false,
    );
  });

  const SLOW = {
    prompt: 'a slow lighthouse at dusk',
    width: 256,
    height: 256,
    steps: 50,
    scheduler: 'euler',
    seed: 99,
  };

  it('answers a JSON error when the gpu-worker dies mid-job, and writes nothing to R2', async () => {
    const gpu = env.info.gpuUrl;
    const blobsBefore = r2Blobs();
    const stepsBefore = await metricValue(gpu, 'latent_edge_step_seconds_count');
    const answer = post('/v1/images', SLOW);

    // Kill the worker's process group once the job is inside its denoise loop.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const running = await metricValue(gpu, 'latent_edge_running_jobs');
      const steps = await metricValue(gpu, 'latent_edge_step_seconds_count');
      if (running > 0 && steps > stepsBefore) break;
      if (Date.now() > deadline) throw new Error('the slow job never started its denoise loop');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await env.stack.killGpuWorker();

    const response = await answer;
    expect(response.status).toBe(503);
    expect(response.headers.get('Content-Type')).toMatch(/^application\/json/);
    expect(Number(response.headers.get('Retry-After'))).toBeGreaterThan(0);
    const { error } = (await response.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe('gpu_unavailable');
    expect(error.message).toContain(gpu);

    // Nothing new in the bucket, and every object in it is a whole PNG.
    const blobsAfter = r2Blobs();
    expect(blobsAfter.sort()).toEqual(blobsBefore.sort());
    for (const blob of blobsAfter) expect(endsWithIend(readFileSync(blob))).toBe(true);
  });

  it('keeps images and keys across an edge restart, and retries the failed request afresh', async () => {
    await Promise.all([env.stack.restartEdge(), env.stack.restartGpuWorker()]);

    // The key still authenticates (the restart's readiness probe used it too).
    const models = await fetch(`${edge}/v1/models`, { headers: { Authorization: `Bearer ${key}` } });
    expect(models.status).toBe(200);
    // An image URL from before the restart serves the same bytes.
    expect(await bytesOf(nativeUrl)).toEqual(nativeBytes);
    // So does the cache: the first request is still a hit.
    const repeat = await post('/v1/images', NATIVE);
    expect(repeat.headers.get('X-Cache')).toBe('HIT');
    await repeat.body?.cancel();

    // The request the dead worker never finished left no object under its key: a miss, now
    // generated whole by the new worker.
    const retried = await post('/v1/images', SLOW);
    expect(retried.status).toBe(200);
    expect(retried.headers.get('X-Cache')).toBe('MISS');
    const body = (await retried.json()) as ImagesBody;
    const png = await bytesOf(body.images[0].url);
    expect(pngSize(png)).toEqual({ width: 256, height: 256 });
    expect(endsWithIend(png)).toBe(true);
  });
});
