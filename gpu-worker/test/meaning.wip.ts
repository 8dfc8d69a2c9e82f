// WORK IN PROGRESS, not run by vitest (the name does not match *.test.ts): through the TS pipeline
// the trained model scores 26.7% at guidance 7.5 with PNDM vs 83% in infra/model/evaluate.py (DDIM);
// see issue 8 notes. Rename to meaning.test.ts once it passes.
// The bundled model draws what it is asked: held-out prompts (never seen verbatim in training)
// through the real TypeScript pipeline at default settings, scored by pixel statistics.
import { describe, expect, it } from 'vitest';
import { generate } from '../src/pipeline/generate.ts';
import { defaultSchedulerFor } from '../src/pipeline/scheduler-defaults.ts';
import { BUNDLED_MODEL, model, request } from './support/models.ts';
import {
  colorMap,
  HELD_OUT,
  type HeldOutCase,
  rgbOf,
  type Score,
  scoreImage,
} from './support/scene-score.ts';

const SIZE = 64;

async function scoreAll(guidanceScale: number): Promise<Score[]> {
  const m = await model(BUNDLED_MODEL);
  const scheduler = defaultSchedulerFor(m.folder.schedulerClass);
  const scores: Score[] = [];
  for (const [i, c] of HELD_OUT.prompts.entries()) {
    const result = await generate(
      m,
      request(m, { text: c.prompt, steps: 20, guidanceScale, scheduler, seeds: [1000 + i] }),
    );
    scores.push(scoreImage(await rgbOf(result.images[0].bytes), SIZE, c));
  }
  return scores;
}

const accuracy = (scores: Score[]) => scores.filter((s) => s.object && s.background).length / scores.length;

describe('the bundled model draws what it is asked', () => {
  let guided: Score[];

  it('puts the asked color in the asked region on the asked background for at least 90% of held-out prompts', async () => {
    guided = await scoreAll(7.5);
    const objects = guided.filter((s) => s.object).length;
    const backgrounds = guided.filter((s) => s.background).length;
    console.log(
      `[meaning] guidance 7.5: object ${objects}/${guided.length}, background ${backgrounds}/${guided.length}, both ${(accuracy(guided) * 100).toFixed(1)}%`,
    );
    expect(accuracy(guided)).toBeGreaterThanOrEqual(0.9);
  });

  it('does better with guidance 7.5 than without guidance (1.0)', async () => {
    const unguided = await scoreAll(1);
    console.log(`[meaning] guidance 1.0: both ${(accuracy(unguided) * 100).toFixed(1)}%`);
    expect(accuracy(guided ?? (await scoreAll(7.5)))).toBeGreaterThan(accuracy(unguided));
  });

  it('keeps the init image layout in img2img at low strength', async () => {
    const m = await model(BUNDLED_MODEL);
    const scene: HeldOutCase = HELD_OUT.prompts[0];
    const init = (await generate(m, request(m, { text: scene.prompt, steps: 20, seeds: [7] }))).images[0]
      .bytes;
    const initMap = colorMap(await rgbOf(init));
    const agreement = async (strength: number) => {
      const other = 'a small white square in the top left on a black background';
      const out = await generate(
        m,
        request(m, { text: other, steps: 20, seeds: [8], initImage: init, strength }),
      );
      const map = colorMap(await rgbOf(out.images[0].bytes));
      return map.filter((v, i) => v === initMap[i]).length / map.length;
    };
    const low = await agreement(0.25);
    const full = await agreement(1);
    console.log(
      `[meaning] img2img pixel-color agreement with the init image: strength 0.25 ${low.toFixed(2)}, 1.0 ${full.toFixed(2)}`,
    );
    expect(low).toBeGreaterThanOrEqual(0.8);
    expect(low).toBeGreaterThan(full);
  });
});
