// End to end: the AUTOMATIC1111 routes around txt2img with the real gpu-worker and the edge under
// `wrangler dev`, as an A1111 client drives them: poll /sdapi/v1/progress beside a txt2img (steps
// and a live preview from the real denoise loop), interrupt it (the worker ends the job at its next step and
// the request answers 200 with that image, as A1111 does), and read a real image's infotext back with /sdapi/v1/png-info.
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../support/local-stack.ts';

let env: TestStack;
let edge: string;
let key: string;

beforeAll(async () => {
  env = await startTestStack({});
  edge = env.info.edgeUrl;
  key = env.info.apiKey;
});

afterAll(async () => {
  await env?.close();
});

const headers = () => ({ Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' });
const post = (path: string, body: unknown) =>
  fetch(`${edge}${path}`, { method: 'POST', headers: headers(), body: JSON.stringify(body) });

interface Progress {
  progress: number;
  state: { job: string; sampling_step: number; sampling_steps: number; interrupted: boolean };
  current_image: string | null;
}

async function progress(): Promise<Progress> {
  return (await fetch(`${edge}/sdapi/v1/progress`, { headers: headers() })).json() as Promise<Progress>;
}

describe('A1111 progress, interrupt and png-info with the real gpu-worker', () => {
  it('reports the steps and a preview of a running txt2img, and interrupt ends it with the image so far', async () => {
    // 256 × 256: long enough (16 × the default 64 × 64 work per step) that the interrupt lands mid-job.
    const answer = post('/sdapi/v1/txt2img', {
      prompt: 'a red circle',
      steps: 50,
      seed: 21,
      width: 256,
      height: 256,
    });
    let seen: Progress | undefined;
    for (let i = 0; i < 600 && !seen; i++) {
      const p = await progress();
      if (p.state.sampling_step >= 3 && p.current_image) seen = p;
      else await new Promise((resolve) => setTimeout(resolve, 100));
    }
    if (!seen) throw new Error('no progress with a preview within 60 s');
    expect(seen.state).toMatchObject({ job: 'txt2img', sampling_steps: 50, interrupted: false });
    expect(seen.progress).toBeGreaterThan(0);
    const preview = await sharp(Buffer.from(seen.current_image as string, 'base64')).metadata();
    expect(preview.format).toBe('webp');

    const interrupt = await post('/sdapi/v1/interrupt', {});
    expect(await interrupt.json()).toEqual({});
    // As A1111: the request answers 200 with the image of where the job got to, at its size.
    const stopped = await answer;
    expect(stopped.status).toBe(200);
    const { images } = (await stopped.json()) as { images: string[] };
    expect(images).toHaveLength(1);
    const partial = await sharp(Buffer.from(images[0], 'base64')).metadata();
    expect([partial.format, partial.width, partial.height]).toEqual(['png', 256, 256]);
    expect((await progress()).state.job).toBe('');
  });

  it("reads back a real image's parameters chunk as txt2img's infotext", async () => {
    const made = await post('/sdapi/v1/txt2img', { prompt: 'a blue square', steps: 2, seed: 33 });
    expect(made.status).toBe(200);
    const body = (await made.json()) as { images: string[]; info: string };
    const infotext = (JSON.parse(body.info) as { infotexts: string[] }).infotexts[0];
    const info = await post('/sdapi/v1/png-info', { image: body.images[0] });
    expect(info.status).toBe(200);
    const read = (await info.json()) as { info: string; parameters: Record<string, string> };
    expect(read.info).toBe(infotext);
    expect(read.parameters).toMatchObject({ Prompt: 'a blue square', Seed: '33', Steps: '2' });
  });

  it('stores an image of a long control-character prompt, whose png-info gives the prompt whole', async () => {
    // Control characters cost no tokens but six bytes each in the JSON of R2's metadata: past
    // its limit, unless the edge shortens its copy. The PNG's own chunk keeps every character.
    const prompt = `a green lantern ☕ ${'\u0001\t'.repeat(1900)}`;
    const made = await post('/sdapi/v1/txt2img', { prompt, steps: 2, seed: 34 });
    expect(made.status).toBe(200);
    const body = (await made.json()) as { images: string[] };
    const info = await post('/sdapi/v1/png-info', { image: body.images[0] });
    expect(info.status).toBe(200);
    const read = (await info.json()) as { info: string };
    expect(read.info.startsWith(`${prompt}\n`)).toBe(true);
  });
});
