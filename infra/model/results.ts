// How well the bundled model draws what it is asked, through the TypeScript pipeline the service
// runs: the 60 held-out prompts (infra/model/heldout-prompts.json, never seen verbatim in
// training) per scheduler and guidance scale at the model's default steps, scored by the same
// pixel statistics as gpu-worker/test/meaning.test.ts. Prints the README's table; with
// `--samples <dir>` also writes a few images with their prompts for the README.
//   npx tsx infra/model/results.ts [--samples docs/samples]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { SchedulerName } from '@latent-edge/shared/scheduler-names';
import { generate } from '../../gpu-worker/src/pipeline/generate.ts';
import { BUNDLED_MODEL, model, request } from '../../gpu-worker/test/support/models.ts';
import { HELD_OUT, rgbOf, type Score, scoreImage } from '../../gpu-worker/test/support/scene-score.ts';

const { values } = parseArgs({
  options: { samples: { type: 'string' }, steps: { type: 'string', default: '20' } },
});
const steps = Number(values.steps);
const SETTINGS: [SchedulerName, number][] = [
  ['ddim', 7.5],
  ['ddim', 1],
  ['pndm', 7.5],
  ['euler', 7.5],
  ['euler_ancestral', 7.5],
  ['dpmpp_2m', 7.5],
  ['heun', 7.5],
];

const m = await model(BUNDLED_MODEL);
const percent = (scores: Score[], pick: (s: Score) => boolean) =>
  `${((100 * scores.filter(pick).length) / scores.length).toFixed(0)} %`;

console.log(`| scheduler | guidance | object colour in its region | background colour | both |`);
console.log('|---|---:|---:|---:|---:|');
for (const [scheduler, guidanceScale] of SETTINGS) {
  const scores: Score[] = [];
  for (const [i, c] of HELD_OUT.prompts.entries()) {
    const result = await generate(
      m,
      request(m, { text: c.prompt, steps, guidanceScale, scheduler, seeds: [1000 + i] }),
    );
    scores.push(scoreImage(await rgbOf(result.images[0].bytes), 64, c));
  }
  console.log(
    `| ${scheduler} | ${guidanceScale} | ${percent(scores, (s) => s.object)} | ${percent(scores, (s) => s.background)} | ${percent(scores, (s) => s.object && s.background)} |`,
  );
}

if (values.samples) {
  mkdirSync(values.samples, { recursive: true });
  const prompts = [
    'a large red circle in the center on a blue background',
    'a small yellow star in the top left on a black background',
    'a green triangle at the bottom right on a white background',
    'an orange square on the left on a purple background',
  ];
  for (const [i, prompt] of prompts.entries()) {
    const result = await generate(m, request(m, { text: prompt, steps, scheduler: 'ddim', seeds: [7] }));
    const file = join(values.samples, `sample-${i + 1}.png`);
    writeFileSync(file, result.images[0].bytes);
    console.log(`${file}: ${prompt} (seed 7, DDIM ${steps} steps, guidance 7.5)`);
  }
}
