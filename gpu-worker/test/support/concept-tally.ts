// The held-out prompts through the real TypeScript pipeline at the meaning test's settings (the
// model's scheduler, DDIM; 20 steps; guidance 7.5; seeds 1000 + i), each picture scored for an
// add-on's concept and for the asked object in its cell.
import type { DiffusionModel } from '../../src/model/diffusion-model.ts';
import { generate } from '../../src/pipeline/generate.ts';
import { defaultSchedulerFor } from '../../src/pipeline/scheduler-defaults.ts';
import { request } from './models.ts';
import { HELD_OUT, type HeldOutCase, rgbOf, scoreImage } from './scene-score.ts';

const SIZE = 64;

export interface Tally {
  concept: number;
  object: number;
  total: number;
}

export async function tallyHeldOut(
  m: DiffusionModel,
  present: (rgb: Uint8Array, size: number, c: HeldOutCase) => boolean,
  promptOf: (c: HeldOutCase) => string = (c) => c.prompt,
): Promise<Tally> {
  const scheduler = defaultSchedulerFor(m.folder.schedulerClass);
  const out = { concept: 0, object: 0, total: 0 };
  for (const [i, c] of HELD_OUT.prompts.entries()) {
    const result = await generate(
      m,
      request(m, { text: promptOf(c), steps: 20, guidanceScale: 7.5, scheduler, seeds: [1000 + i] }),
    );
    const rgb = await rgbOf(result.images[0].bytes);
    if (present(rgb, SIZE, c)) out.concept++;
    if (scoreImage(rgb, SIZE, c).object) out.object++;
    out.total++;
  }
  return out;
}

export const shareOf = (n: number, t: Tally) => `${n}/${t.total} (${((100 * n) / t.total).toFixed(0)}%)`;
