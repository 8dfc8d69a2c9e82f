// The AUTOMATIC1111 API: txt2img with A1111's field names and answer shape, samplers, models.
import { beforeAll, describe, expect, it } from 'vitest';
import { call, createApiKey, type ErrorBody, gpuCalls, postJson, uniquePrompt } from './support/api.ts';

let key: string;
beforeAll(async () => {
  key = (await createApiKey({ rateLimit: { requests: 1000, window_seconds: 60 } })).key;
});

interface Txt2ImgResponse {
  images: string[];
  parameters: Record<string, unknown>;
  info: string;
}

describe('POST /sdapi/v1/txt2img', () => {
  it("generates batch_size × n_iter images with A1111's sampler names and answers base64 PNGs with info", async () => {
    const prompt = uniquePrompt('a castle');
    const response = await postJson(
      '/sdapi/v1/txt2img',
      {
        prompt,
        negative_prompt: 'fog',
        steps: 8,
        cfg_scale: 5,
        width: 64,
        height: 64,
        seed: 1234,
        sampler_name: 'DPM++ 2M',
        scheduler: 'Karras',
        batch_size: 2,
        n_iter: 2,
        restore_faces: false,
        send_images: true,
      },
      key,
    );
    expect(response.status).toBe(200);
    const body = (await response.json()) as Txt2ImgResponse;
    expect(body.images).toHaveLength(4);
    const png = Uint8Array.from(atob(body.images[0]), (ch) => ch.charCodeAt(0));
    expect([...png.subarray(1, 4)]).toEqual([0x50, 0x4e, 0x47]);
    const info = JSON.parse(body.info) as Record<string, unknown>;
    expect(info).toMatchObject({
      seed: 1234,
      all_seeds: [1234, 1235, 1236, 1237],
      sampler_name: 'DPM++ 2M Karras',
      cfg_scale: 5,
      steps: 8,
    });
    expect((info.infotexts as string[])[1]).toContain('Seed: 1235');
    expect((info.infotexts as string[])[1]).toContain('Negative prompt: fog');
    const [job] = await gpuCalls(prompt);
    expect(job).toMatchObject({ scheduler: 'dpmpp_2m_karras', steps: 8, seeds: [1234, 1235, 1236, 1237] });
  });

  it("names A1111's field in errors", async () => {
    const response = await postJson('/sdapi/v1/txt2img', { prompt: 'x', cfg_scale: 99 }, key);
    expect(response.status).toBe(400);
    const { error } = (await response.json()) as ErrorBody;
    expect(error.field).toBe('cfg_scale');
    expect(error.message).toContain('99');
  });

  it('refuses an unknown sampler naming the known ones', async () => {
    const response = await postJson('/sdapi/v1/txt2img', { prompt: 'x', sampler_name: 'UniPC 9000' }, key);
    expect(response.status).toBe(400);
    const { error } = (await response.json()) as ErrorBody;
    expect(error.field).toBe('sampler_name');
    expect(error.message).toContain('Euler a');
  });

  it('echoes in parameters only the fields it knows, not what a client made up', async () => {
    const response = await postJson(
      '/sdapi/v1/txt2img',
      {
        prompt: uniquePrompt('a harbour'),
        seed: 5,
        send_images: true,
        made_up: { a: [{ a: 'x'.repeat(1000) }] },
        override_settings: { sd_vae: 'x'.repeat(1000) },
      },
      key,
    );
    expect(response.status).toBe(200);
    const body = (await response.json()) as Txt2ImgResponse;
    expect(body.parameters).toMatchObject({ seed: 5, batch_size: 1, n_iter: 1 });
    expect(body.parameters).not.toHaveProperty('made_up');
    expect(body.parameters).not.toHaveProperty('send_images');
    expect(body.parameters.override_settings).toBeUndefined();
    // The ignored fields are still named, shortly, in info's warnings.
    const warnings = (JSON.parse(body.info) as { warnings: string[] }).warnings;
    expect(warnings.sort()).toEqual([
      expect.stringMatching(/^made_up: \{a\} is ignored/),
      expect.stringMatching(/^override_settings\.sd_vae: "x{56}\.\.\. is ignored/),
    ]);
  });

  it('accepts the API key as the password of Basic authentication, as A1111 clients send it', async () => {
    const response = await call('/sdapi/v1/samplers', {
      headers: { Authorization: `Basic ${btoa(`user:${key}`)}` },
    });
    expect(response.status).toBe(200);
    const wrong = await call('/sdapi/v1/samplers', {
      headers: { Authorization: `Basic ${btoa('user:le_wrong')}` },
    });
    expect(wrong.status).toBe(401);
  });
});

describe('GET /sdapi/v1/samplers and /sdapi/v1/sd-models', () => {
  it("lists A1111's sampler names", async () => {
    const samplers = (await (await call('/sdapi/v1/samplers', { key })).json()) as { name: string }[];
    expect(samplers.map((s) => s.name)).toEqual(
      expect.arrayContaining(['Euler a', 'DPM++ 2M Karras', 'PLMS']),
    );
  });

  it('lists the served models as checkpoints whose title selects them', async () => {
    const models = (await (await call('/sdapi/v1/sd-models', { key })).json()) as {
      title: string;
      model_name: string;
    }[];
    expect(models.map((m) => m.model_name)).toEqual(['tiny-sd', 'tiny-sdxl', 'tiny-sdxl-turbo']);
    expect(models[0].title).toMatch(/^tiny-sd \[[0-9a-f]{10}\]$/);
    const prompt = uniquePrompt('selected');
    const response = await postJson(
      '/sdapi/v1/txt2img',
      { prompt, seed: 1, override_settings: { sd_model_checkpoint: models[0].title } },
      key,
    );
    expect(response.status).toBe(200);
  });
});
