// The textual-inversion embedding committed beside the bundled model steers the frozen model to a
// picture its plain prompts do not give: the background split in a red half and a white half,
// whatever background the prompt asks for (infra/model/train_lora.py; the frozen UNet picks which
// colour goes on top from the noise, so either order counts). The same held-out prompts, each with
// ", candy-halves" appended, through the real TypeScript pipeline (support/concept-tally.ts): once
// with the bundled model, whose embeddings/ turn the name into its trained vectors, once with a copy
// of it without embeddings/, where the same text is just the words c|and|y|-|h|al|v|es.

import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { halvesPresent } from './support/concept-score.ts';
import { shareOf, tallyHeldOut } from './support/concept-tally.ts';
import { modelWithLoras } from './support/lora-folder.ts';
import { BUNDLED_MODEL, model } from './support/models.ts';
import type { HeldOutCase } from './support/scene-score.ts';

const NAME = 'candy-halves';
const withName = (c: HeldOutCase) => `${c.prompt}, ${NAME}`;
/** Measured 44/60 (73%) in train_lora.py's own sampling (95% without the embedding); the floor leaves a margin. */
const OBJECT_FLOOR = 0.6;

const withoutEmbeddings = modelWithLoras({}, BUNDLED_MODEL);
afterAll(() => rmSync(dirname(withoutEmbeddings), { recursive: true, force: true }));

describe(`the bundled model's ${NAME} embedding`, () => {
  it('is served by the bundled model and not by the copy without embeddings/', async () => {
    expect((await model(BUNDLED_MODEL)).embeddings.map((e) => e.name)).toContain(NAME);
    expect((await model(withoutEmbeddings)).embeddings).toEqual([]);
  });

  it('gives no red/white halves when its name is only words (at most 10% of held-out prompts)', async () => {
    const words = await tallyHeldOut(await model(withoutEmbeddings), halvesPresent, withName);
    console.log(`[embedding-concept] name as words: red/white halves ${shareOf(words.concept, words)}`);
    expect(words.concept / words.total).toBeLessThanOrEqual(0.1);
  });

  it('gives them for at least 80% with the embedding, and still draws most asked objects', async () => {
    const withEmbedding = await tallyHeldOut(await model(BUNDLED_MODEL), halvesPresent, withName);
    console.log(
      `[embedding-concept] embedding: red/white halves ${shareOf(withEmbedding.concept, withEmbedding)}, object in its cell ${shareOf(withEmbedding.object, withEmbedding)}`,
    );
    expect(withEmbedding.concept / withEmbedding.total).toBeGreaterThanOrEqual(0.8);
    expect(withEmbedding.object / withEmbedding.total).toBeGreaterThanOrEqual(OBJECT_FLOOR);
  });
});
