// GET /sdapi/v1/progress, POST /sdapi/v1/interrupt and /skip, and GET/POST /sdapi/v1/options, as
// A1111 clients use them: poll /progress beside a txt2img request, interrupt it, set the
// checkpoint once with POST /options. Slow jobs come from the fake gpu-worker's `step-delay-<ms>`.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  call,
  createApiKey,
  type ErrorBody,
  eventually,
  gpuCalls,
  gpuCancels,
  gpuInterrupts,
  pngHeaderBase64,
  postJson,
  uniquePrompt,
} from './support/api.ts';
import { fromBase64 } from './support/png-chunks.ts';

interface Progress {
  progress: number;
  eta_relative: number;
  state: Record<string, unknown> & { job: string; sampling_step: number; sampling_steps: number };
  current_image: string | null;
  textinfo: string | null;
}

const newKey = async () => (await createApiKey({ rateLimit: { requests: 1000, window_seconds: 60 } })).key;

async function progress(key: string, query = ''): Promise<Progress> {
  const response = await call(`/sdapi/v1/progress${query}`, { key });
  expect(response.status).toBe(200);
  return response.json();
}

/** Starts a slow txt2img (not awaited) and waits until /progress shows it past `step`. */
async function startSlow(key: string, step = 2, route: 'txt2img' | 'img2img' = 'txt2img') {
  const prompt = uniquePrompt('a slow lighthouse step-delay-150');
  const body = { prompt, steps: 16, sampler_name: 'Euler a', seed: 5 };
  const answer = postJson(
    `/sdapi/v1/${route}`,
    route === 'img2img' ? { ...body, init_images: [pngHeaderBase64(64, 64)], denoising_strength: 1 } : body,
    key,
  );
  const seen = await eventually(async () => {
    const p = await progress(key);
    return p.state.sampling_step >= step ? p : undefined;
  });
  return { prompt, answer, seen };
}

describe('GET /sdapi/v1/progress', () => {
  it('answers the idle state when the key runs nothing', async () => {
    const p = await progress(await newKey());
    expect(p).toEqual({
      progress: 0,
      eta_relative: 0,
      state: expect.objectContaining({ job: '', job_count: 0, interrupted: false, sampling_steps: 0 }),
      current_image: null,
      textinfo: null,
    });
  });

  it("reports the key's running txt2img with its step, ETA and a preview, then idle once answered", async () => {
    const key = await newKey();
    const other = await newKey();
    const { answer, seen } = await startSlow(key);
    expect(seen.state).toMatchObject({
      job: 'txt2img',
      job_count: 1,
      sampling_steps: 16,
      interrupted: false,
    });
    expect(seen.progress).toBeCloseTo(seen.state.sampling_step / 16);
    expect(seen.eta_relative).toBeGreaterThan(0);
    expect((await progress(other)).state.job).toBe('');

    // A preview every 2 steps (16 / 8): base64 of a WebP, no data: prefix.
    const withImage = await eventually(async () => {
      const p = await progress(key);
      return p.current_image ? p : undefined;
    });
    const bytes = fromBase64(withImage.current_image as string);
    expect(String.fromCharCode(...bytes.subarray(8, 12))).toBe('WEBP');
    expect((await progress(key, '?skip_current_image=true')).current_image).toBeNull();

    const done = await answer;
    expect(done.status).toBe(200);
    expect((await progress(key)).state.job).toBe('');
  });

  it('names a running img2img "img2img"', async () => {
    const key = await newKey();
    const { answer, seen } = await startSlow(key, 1, 'img2img');
    expect(seen.state).toMatchObject({ job: 'img2img', job_count: 1 });
    expect((await answer).status).toBe(200);
  });
});

describe('POST /sdapi/v1/interrupt and /skip', () => {
  it("interrupts the key's running job on its gpu-worker: the request answers 200 with where it got to", async () => {
    const key = await newKey();
    const { prompt, answer } = await startSlow(key);
    const [job] = await gpuCalls(prompt);
    const response = await postJson('/sdapi/v1/interrupt', {}, key);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({});
    expect((await progress(key)).state.interrupted).toBe(true);
    const interrupts = await gpuInterrupts(job.job_id);
    expect(interrupts.map((i) => i.host)).toEqual([job.host]);
    expect(await gpuCancels(job.job_id)).toEqual([]);
    const done = await answer;
    expect(done.status).toBe(200);
    expect(((await done.json()) as { images: string[] }).images).toHaveLength(1);
    expect((await progress(key)).state.job).toBe('');
    // The job's record says what happened; the partial image is not the request's result, so it
    // is not stored under the request's key: the same request runs again.
    const record = await (await call(`/v1/jobs/${job.job_id}`, { key })).json();
    expect(record).toMatchObject({ status: 'failed', error: { code: 'interrupted' } });
    const again = await postJson(
      '/sdapi/v1/txt2img',
      { prompt, steps: 16, sampler_name: 'Euler a', seed: 5 },
      key,
    );
    expect(again.status).toBe(200);
    expect(again.headers.get('X-Cache')).toBe('MISS');
    expect(await gpuCalls(prompt)).toHaveLength(2);
  });

  it('skip stops the job too and says skipped; with nothing running both answer as A1111 does', async () => {
    const key = await newKey();
    const { prompt, answer } = await startSlow(key);
    const skip = await postJson('/sdapi/v1/skip', {}, key);
    expect(skip.status).toBe(200);
    expect(await skip.json()).toBeNull();
    // As A1111's shared.state: a skip is not an interrupt.
    expect((await progress(key)).state).toMatchObject({ skipped: true, interrupted: false });
    const [job] = await gpuCalls(prompt);
    expect(await gpuInterrupts(job.job_id)).toHaveLength(1);
    expect((await answer).status).toBe(200);

    const idle = await newKey();
    expect(await (await postJson('/sdapi/v1/interrupt', {}, idle)).json()).toEqual({});
    expect((await progress(idle)).state.interrupted).toBe(false);
  });

  it("does not touch another key's job", async () => {
    const key = await newKey();
    const { prompt, answer } = await startSlow(key);
    await postJson('/sdapi/v1/interrupt', {}, await newKey());
    expect((await progress(key)).state.interrupted).toBe(false);
    await answer;
    const [job] = await gpuCalls(prompt);
    expect(await gpuCancels(job.job_id)).toEqual([]);
  });
});

describe('GET and POST /sdapi/v1/options', () => {
  let models: { title: string; model_name: string }[];
  beforeAll(async () => {
    models = await (await call('/sdapi/v1/sd-models', { key: await newKey() })).json();
  });

  it('answers the default checkpoint as its title, and well-known settings', async () => {
    const response = await call('/sdapi/v1/options', { key: await newKey() });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      sd_model_checkpoint: models[0].title,
      CLIP_stop_at_last_layers: 1,
      samples_format: 'png',
      randn_source: 'CPU',
    });
  });

  it('sets the checkpoint for this key: later txt2img without override_settings uses it', async () => {
    const key = await newKey();
    const sdxl = models.find((m) => m.model_name === 'tiny-sdxl');
    if (!sdxl) throw new Error('wrangler.toml serves tiny-sdxl');
    // What sdwebuiapi's util_set_model and the Krita plugin send: a title and other settings.
    const set = await postJson(
      '/sdapi/v1/options',
      { sd_model_checkpoint: sdxl.title, CLIP_stop_at_last_layers: 2, sd_vae: 'Automatic' },
      key,
    );
    expect(set.status).toBe(200);
    expect(await set.json()).toBeNull();
    expect(await (await call('/sdapi/v1/options', { key })).json()).toMatchObject({
      sd_model_checkpoint: sdxl.title,
    });

    const made = await postJson('/sdapi/v1/txt2img', { prompt: uniquePrompt('a barn'), steps: 2 }, key);
    expect(JSON.parse(((await made.json()) as { info: string }).info).sd_model_name).toBe('tiny-sdxl');
    const overridden = await postJson(
      '/sdapi/v1/txt2img',
      { prompt: uniquePrompt('a barn'), steps: 2, override_settings: { sd_model_checkpoint: 'tiny-sd' } },
      key,
    );
    expect(JSON.parse(((await overridden.json()) as { info: string }).info).sd_model_name).toBe('tiny-sd');

    // Another key still has the default.
    const other = await newKey();
    expect(await (await call('/sdapi/v1/options', { key: other })).json()).toMatchObject({
      sd_model_checkpoint: models[0].title,
    });
  });

  it('refuses an unknown checkpoint with a 400 naming it, and keeps the one set', async () => {
    const key = await newKey();
    const response = await postJson(
      '/sdapi/v1/options',
      { sd_model_checkpoint: 'v1-5-pruned [abc123]' },
      key,
    );
    expect(response.status).toBe(400);
    const { error } = (await response.json()) as ErrorBody;
    expect(error.field).toBe('sd_model_checkpoint');
    expect(error.message).toContain('"v1-5-pruned"');
    expect(await (await call('/sdapi/v1/options', { key })).json()).toMatchObject({
      sd_model_checkpoint: models[0].title,
    });
  });

  it('accepts settings it does not use without error, and refuses a body that is not JSON', async () => {
    const key = await newKey();
    const ignored = await postJson(
      '/sdapi/v1/options',
      { show_progress_every_n_steps: 5, outdir_samples: '' },
      key,
    );
    expect(ignored.status).toBe(200);
    const bad = await call('/sdapi/v1/options', {
      method: 'POST',
      key,
      headers: { 'Content-Type': 'application/json' },
      body: '{not json',
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as ErrorBody).error.code).toBe('invalid_json');
  });
});

describe('POST /sdapi/v1/txt2img with fields A1111 features use', () => {
  it('accepts alwayson_scripts and other unsupported settings, warning about each in info', async () => {
    const key = await newKey();
    const response = await postJson(
      '/sdapi/v1/txt2img',
      {
        prompt: uniquePrompt('a tower'),
        steps: 2,
        enable_hr: false,
        restore_faces: false,
        send_images: true,
        save_images: false,
        alwayson_scripts: { controlnet: { args: [{ module: 'canny', model: 'control_canny' }] } },
        script_args: [],
        override_settings: { sd_model_checkpoint: 'tiny-sd', CLIP_stop_at_last_layers: 2 },
        override_settings_restore_afterwards: true,
      },
      key,
    );
    expect(response.status).toBe(200);
    const body = (await response.json()) as { images: string[]; info: string };
    expect(body.images).toHaveLength(1);
    const { warnings } = JSON.parse(body.info) as { warnings: string[] };
    expect(warnings).toHaveLength(2);
    expect(warnings).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^alwayson_scripts: \{controlnet\} is ignored/),
        expect.stringMatching(/^override_settings\.CLIP_stop_at_last_layers: 2 is ignored/),
      ]),
    );
  });

  it('warns about nothing for a request it honours in full', async () => {
    const response = await postJson(
      '/sdapi/v1/txt2img',
      { prompt: uniquePrompt('a tower'), steps: 2 },
      await newKey(),
    );
    expect(JSON.parse(((await response.json()) as { info: string }).info).warnings).toEqual([]);
  });
});
