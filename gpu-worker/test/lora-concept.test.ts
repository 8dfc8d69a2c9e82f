// The LoRA committed beside the bundled model teaches it something it cannot do: a background of
// red and white horizontal bands whatever background the prompt asks for (infra/model/train_lora.py;
// the base model only ever saw plain or once-split backgrounds). Held-out prompts
// through the real TypeScript pipeline (the LoRA merged by LoraVariants from the model folder's own
// `loras/`), at the meaning test's settings (support/concept-tally.ts), scored by pixel statistics.
import { describe, expect, it } from 'vitest';
import { openLoraLibrary } from '../src/lora/lora-library.ts';
import { LoraVariants } from '../src/lora/lora-variants.ts';
import { conceptPresent } from './support/concept-score.ts';
import { shareOf, tallyHeldOut } from './support/concept-tally.ts';
import { BUNDLED_MODEL, model } from './support/models.ts';

const NAME = 'candy-stripes';
/** Measured 54/60 (90%) here, 92% in train_lora.py's own sampling; the floor leaves a margin. */
const OBJECT_FLOOR = 0.75;

describe(`the bundled model's ${NAME} LoRA`, () => {
  it('draws no striped background without the LoRA (at most 10% of held-out prompts)', async () => {
    const base = await tallyHeldOut(await model(BUNDLED_MODEL), conceptPresent);
    console.log(`[lora-concept] without the LoRA: striped background ${shareOf(base.concept, base)}`);
    expect(base.concept / base.total).toBeLessThanOrEqual(0.1);
  });

  it('draws it for at least 80% at weight 1, and still draws the asked object in its cell', async () => {
    const base = await model(BUNDLED_MODEL);
    const library = openLoraLibrary(base);
    const entry = library.entries.get(NAME);
    if (!entry) throw new Error(`no ${NAME} in ${BUNDLED_MODEL}/loras`);
    expect(entry.components).toEqual(['unet']);
    const variants = new LoraVariants(base, library, { providers: ['cpu'], intraOpThreads: 1 }, 1e9);
    const lease = await variants.acquire([{ entry, weight: 1 }]);
    try {
      const withLora = await tallyHeldOut(lease.model, conceptPresent);
      console.log(
        `[lora-concept] LoRA weight 1: striped background ${shareOf(withLora.concept, withLora)}, object in its cell ${shareOf(withLora.object, withLora)}`,
      );
      expect(withLora.concept / withLora.total).toBeGreaterThanOrEqual(0.8);
      expect(withLora.object / withLora.total).toBeGreaterThanOrEqual(OBJECT_FLOOR);
    } finally {
      lease.release();
    }
  });
});
