import { describe, expect, it } from 'vitest';
import { GenerationRequest } from '../src/protocol/generation-request.ts';
import { GpuJob } from '../src/protocol/gpu-job.ts';
import { parseWith } from '../src/protocol/validation-error.ts';

const parse = (body: unknown) => parseWith(GenerationRequest, body);

describe('GenerationRequest', () => {
  it('fills defaults for a minimal request', () => {
    const result = parse({ prompt: 'a red circle' });
    expect(result).toEqual({
      success: true,
      data: {
        prompt: 'a red circle',
        negative_prompt: '',
        guidance_rescale: 0,
        seed: -1,
        n: 1,
        output_format: 'png',
        // Inpainting's defaults (used only with a mask): A1111's blur 4, the init image under the mask.
        mask_source: 'luminance',
        invert_mask: false,
        mask_blur: 4,
        masked_content: 'original',
        inpaint_only_masked: false,
        only_masked_padding: 32,
        loras: [],
      },
    });
  });

  it.each([
    [{ prompt: 'x', width: 1001 }, 'width', 'multiple of 8', '1001'],
    [{ prompt: 'x', height: 32 }, 'height', '>=64', '32'],
    [{ prompt: 'x', width: 4096 }, 'width', '<=2048', '4096'],
    [{ prompt: 'x', steps: 0 }, 'steps', '>=1', '0'],
    [{ prompt: 'x', steps: 151 }, 'steps', '<=150', '151'],
    [{ prompt: 'x', guidance_scale: -1 }, 'guidance_scale', '>=0', '-1'],
    [{ prompt: 'x', n: 9 }, 'n', '<=8', '9'],
    [{ prompt: 'x', seed: 1.5 }, 'seed', 'int', '1.5'],
    [{ prompt: 'x', seed: -2 }, 'seed', '>=-1', '-2'],
    [{ prompt: 'x', scheduler: 'bogus' }, 'scheduler', 'unknown scheduler', '"bogus"'],
    [{ prompt: 'x', output_format: 'gif' }, 'output_format', 'png', '"gif"'],
    [{ prompt: 'x'.repeat(4001) }, 'prompt', '<=4000', 'xxx'],
    [{ prompt: 42 }, 'prompt', 'expected string', '42'],
  ])('rejects %j naming the field, the rule and the value', (body, field, rule, value) => {
    const result = parse(body);
    expect(result.success).toBe(false);
    if (result.success) return;
    expect(result.error.field).toBe(field);
    expect(result.error.message).toContain(field);
    expect(result.error.message).toContain(rule);
    expect(result.error.message).toContain(value);
  });

  it('says a missing prompt is required', () => {
    const result = parse({});
    expect(result.success).toBe(false);
    if (!result.success)
      expect(result.error).toMatchObject({ field: 'prompt', message: 'prompt is required (string)' });
  });

  it('rejects unknown fields by name', () => {
    const result = parse({ prompt: 'x', sampler: 'Euler' });
    expect(result.success).toBe(false);
    if (!result.success) expect(result.error.message).toBe('unknown field "sampler"');
  });

  it('accepts AUTOMATIC1111 sampler names as scheduler aliases', () => {
    const result = parse({ prompt: 'x', scheduler: 'DPM++ 2M Karras' });
    expect(result.success && result.data.scheduler).toBe('dpmpp_2m_karras');
  });

  it('rejects a body that is not an object', () => {
    for (const body of [null, 'text', 3, []]) expect(parse(body).success).toBe(false);
  });
});

describe('GpuJob', () => {
  const chunk = { ids: [49406, 320, 49407], weights: [1, 1.1, 1] };
  const job = {
    job_id: 'j1',
    model: 'tiny-sd',
    prompt: { chunks: [chunk] },
    negative_prompt: { chunks: [chunk] },
    width: 64,
    height: 64,
    steps: 20,
    guidance_scale: 7.5,
    scheduler: 'euler',
    seeds: [1, 2],
  };

  it('accepts a well-formed job', () => {
    expect(GpuJob.safeParse(job).success).toBe(true);
  });

  it('rejects chunks whose ids and weights differ in length', () => {
    const bad = { ...job, prompt: { chunks: [{ ids: [1, 2, 3], weights: [1] }] } };
    const result = parseWith(GpuJob, bad);
    expect(result.success).toBe(false);
    if (!result.success) expect(result.error.message).toContain('ids and weights differ in length');
  });

  it('takes scheduler names only in canonical form', () => {
    expect(GpuJob.safeParse({ ...job, scheduler: 'Euler a' }).success).toBe(false);
  });
});
