// Tells a ComfyUI run's hub what its job does, from the queue consumer: the start, each step (in
// the gpu-worker's order, one at a time), and the end, read from the job's final record so a
// cancelled job ends as ComfyUI's "interrupted" however the gpu-worker's answer went.
import type { GpuJobEvent } from '@latent-edge/shared/protocol/job-events';
import type { JobRecord } from '../jobs/job-record.ts';
import type { RunEnd } from './comfy-hub.ts';

export function comfyRelay(env: Env, owner: string, promptId: string) {
  const hub = env.COMFY_HUB.getByName(owner);
  let chain: Promise<unknown> = Promise.resolve();
  const then = (step: () => Promise<unknown>) => {
    chain = chain.then(step).catch((error) => console.error(`comfy run ${promptId}:`, error));
    return chain;
  };
  return {
    started: () => then(() => hub.started(promptId)),
    listener: (event: GpuJobEvent): void => {
      if (event.type === 'progress') then(() => hub.progress(promptId, event.step, event.steps));
    },
    finished: (final: JobRecord | null) => {
      let end: RunEnd;
      if (final?.status === 'succeeded' && final.result) {
        const images = final.result.images.map((image) => ({
          filename: image.url.slice(image.url.lastIndexOf('/') + 1),
          subfolder: '',
          type: 'output' as const,
        }));
        end = { status: 'success', images };
      } else if (final?.status === 'cancelled') {
        end = { status: 'interrupted' };
      } else {
        end = {
          status: 'error',
          code: final?.error?.code ?? 'internal',
          message: final?.error?.message ?? 'the job is gone',
        };
      }
      return then(() => hub.finished(promptId, end));
    },
  };
}
