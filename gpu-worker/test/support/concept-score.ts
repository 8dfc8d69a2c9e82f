// Scores whether a generated picture shows one of the bundled add-ons' concepts
// (infra/model/train_lora.py, `share_outside_cell` and the rules built on it). Every pixel takes its
// nearest named colour (scene-score.ts `colorMap`); a concept is present when at least 70% of the
// pixels outside the object's 3×3 cell have the colour the concept gives their row.
//
// - the LoRA's "candy stripes" (`concept_present`): 16-px horizontal bands, red / white / red /
//   white from the top. A plain background of either colour, or a red/white split, scores at most 50%.
// - the embedding's "candy halves" (`halves_present` either order, `halves_either_order`): the
//   background split in two horizontal halves, one red and one white. The frozen UNet picks which
//   colour goes on top from the initial noise (train_lora.py's docstring), so both orders count. A
//   plain background or the four stripes score at most 50%.
import { colorMap, HELD_OUT, type HeldOutCase, POSITIONS } from './scene-score.ts';

/** train_lora.py BANDS and STRIPE. */
export const BANDS = ['red', 'white'] as const;
export const STRIPE = 16;
/** train_lora.py HALVES: top half, bottom half, as trained. */
export const HALVES = ['red', 'white'] as const;
export const MIN_SHARE = 0.7;

const NAMES = Object.keys(HELD_OUT.colors);
const indexOf = (name: string) => NAMES.indexOf(name);

/** The share of pixels outside the case's cell whose nearest named colour is `colourOfRow(y)`. */
function shareOutsideCell(
  rgb: Uint8Array,
  size: number,
  c: HeldOutCase,
  colourOfRow: (y: number) => number,
): number {
  const map = colorMap(rgb);
  const [col, row] = POSITIONS[c.position];
  // numpy's cell slice [row·size//3 : (row+1)·size//3], as scene-score.ts does.
  const within = (v: number, i: number) =>
    v >= Math.floor((i * size) / 3) && v < Math.floor(((i + 1) * size) / 3);
  let outside = 0;
  let hits = 0;
  for (let y = 0; y < size; y++) {
    const wanted = colourOfRow(y);
    for (let x = 0; x < size; x++) {
      if (within(y, row) && within(x, col)) continue;
      outside++;
      if (map[y * size + x] === wanted) hits++;
    }
  }
  return hits / outside;
}

const BAND_INDEX = BANDS.map(indexOf);

/** The share of pixels outside the case's cell whose nearest named colour is their band's. */
export function conceptShare(rgb: Uint8Array, size: number, c: HeldOutCase): number {
  return shareOutsideCell(rgb, size, c, (y) => BAND_INDEX[Math.floor(y / STRIPE) % BANDS.length]);
}

export function conceptPresent(rgb: Uint8Array, size: number, c: HeldOutCase): boolean {
  return conceptShare(rgb, size, c) >= MIN_SHARE;
}

const [TOP, BOTTOM] = HALVES.map(indexOf);

/** The better of the two orders' shares: `top` colour above the middle row, the other below. */
export function halvesShare(rgb: Uint8Array, size: number, c: HeldOutCase): number {
  const lowerHalf = (y: number) => y >= Math.floor(size / 2);
  const asTrained = shareOutsideCell(rgb, size, c, (y) => (lowerHalf(y) ? BOTTOM : TOP));
  const flipped = shareOutsideCell(rgb, size, c, (y) => (lowerHalf(y) ? TOP : BOTTOM));
  return Math.max(asTrained, flipped);
}

export function halvesPresent(rgb: Uint8Array, size: number, c: HeldOutCase): boolean {
  return halvesShare(rgb, size, c) >= MIN_SHARE;
}
