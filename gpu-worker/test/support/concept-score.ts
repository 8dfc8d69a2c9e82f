// Scores whether a generated picture shows the bundled LoRA's concept, "candy stripes"
// (infra/model/train_lora.py, `concept_share` / `concept_present`): a background of 16-px
// horizontal bands, red / white / red / white from the top, whatever the prompt asks. Every pixel
// takes its nearest named colour (scene-score.ts `colorMap`); the concept is present when at least
// 70% of the pixels outside the object's 3×3 cell have their band's colour. A plain background of
// either colour, or a red-over-white split, scores at most 50%.
import { colorMap, HELD_OUT, type HeldOutCase, POSITIONS } from './scene-score.ts';

/** train_lora.py BANDS and STRIPE. */
export const BANDS = ['red', 'white'] as const;
export const STRIPE = 16;
export const MIN_SHARE = 0.7;

const NAMES = Object.keys(HELD_OUT.colors);
const BAND_INDEX = BANDS.map((b) => NAMES.indexOf(b));

/** The share of pixels outside the case's cell whose nearest named colour is their band's. */
export function conceptShare(rgb: Uint8Array, size: number, c: HeldOutCase): number {
  const map = colorMap(rgb);
  const [col, row] = POSITIONS[c.position];
  // numpy's cell slice [row·size//3 : (row+1)·size//3], as scene-score.ts does.
  const within = (v: number, i: number) =>
    v >= Math.floor((i * size) / 3) && v < Math.floor(((i + 1) * size) / 3);
  let outside = 0;
  let hits = 0;
  for (let y = 0; y < size; y++) {
    const band = BAND_INDEX[Math.floor(y / STRIPE) % BANDS.length];
    for (let x = 0; x < size; x++) {
      if (within(y, row) && within(x, col)) continue;
      outside++;
      if (map[y * size + x] === band) hits++;
    }
  }
  return hits / outside;
}

export function conceptPresent(rgb: Uint8Array, size: number, c: HeldOutCase): boolean {
  return conceptShare(rgb, size, c) >= MIN_SHARE;
}
