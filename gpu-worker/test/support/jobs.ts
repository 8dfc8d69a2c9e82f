// Builds signed jobs for the real gpu-worker as the edge does.
import { loadTokenizerDir } from '@latent-edge/shared/node/tokenizer-dir';
import { tokenizeWeighted } from '@latent-edge/shared/prompt/prompt-chunks';
import { type GpuResponse, readGpuResponse, signedJobRequest } from '@latent-edge/shared/protocol/gpu-client';
import { TEST_GPU_SECRET } from '../../../test/support/gpu-worker-process.ts';
import { BUNDLED_MODEL } from './models.ts';

const tokenizer = loadTokenizerDir(`${BUNDLED_MODEL}/tokenizer`);
let counter = 0;

export function job(overrides: Record<string, unknown> = {}) {
  const {
    prompt = 'a red circle',
    negative = '',
    ...rest
  } = overrides as { prompt?: string; negative?: string };
  return {
    job_id: `job-${process.pid}-${++counter}`,
    model: 'tiny-sd',
    prompt: { chunks: tokenizeWeighted(tokenizer, prompt).chunks },
    negative_prompt: { chunks: tokenizeWeighted(tokenizer, negative).chunks },
    prompt_text: prompt,
    width: 64,
    height: 64,
    steps: 8,
    guidance_scale: 7.5,
    scheduler: 'euler',
    seeds: [1],
    ...rest,
  };
}

export async function send(url: string, body: object, init: RequestInit = {}): Promise<Response> {
  return fetch(await signedJobRequest(`${url}/v1/generate`, TEST_GPU_SECRET, body, {}, init));
}

export async function generateOk(url: string, body: object): Promise<GpuResponse> {
  return readGpuResponse(await send(url, body));
}
