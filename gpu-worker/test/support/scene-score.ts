// Scores a generated picture of the synthetic world (infra/model/world.py) against its prompt's
// attributes with simple pixel statistics, as infra/model/evaluate.py does: every pixel takes
// its nearest named color; the object is right when at least 10% of the asked 3×3 cell has the
// asked color, the background when the asked color is the most common outside that cell.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import sharp from 'sharp';

export interface HeldOutCase {
  prompt: string;
  color: string;
  shape: string;
  size: string;
  position: string;
  background: string;
}

interface HeldOut {
  colors: Record<string, [number, number, number]>;
  prompts: HeldOutCase[];
}

/** Prompts never seen verbatim in training, with their attributes (written by infra/model/world.py). */
export const HELD_OUT = JSON.parse(
  readFileSync(resolve(import.meta.dirname, '../../../infra/model/heldout-prompts.json'), 'utf8'),
) as HeldOut;

const NAMES = Object.keys(HELD_OUT.colors);
const PALETTE = NAMES.map((n) => HELD_OUT.colors[n]);

/** world.py POSITIONS: name → (column, row) of the 3×3 grid. */
export const POSITIONS: Record<string, [number, number]> = {
  'top-left': [0, 0],
  top: [1, 0],
  'top-right': [2, 0],
  left: [0, 1],
  center: [1, 1],
  right: [2, 1],
  'bottom-left': [0, 2],
  bottom: [1, 2],
  'bottom-right': [2, 2],
};

/** Nearest palette color index of every pixel of an RGB image (HWC). */
export function colorMap(rgb: Uint8Array): Uint8Array {
  const out = new Uint8Array(rgb.length / 3);
  for (let p = 0; p < out.length; p++) {
    let best = 0;
    let bestDistance = Number.POSITIVE_INFINITY;
    for (let c = 0; c < PALETTE.length; c++) {
      const [r, g, b] = PALETTE[c];
      const d = (rgb[3 * p] - r) ** 2 + (rgb[3 * p + 1] - g) ** 2 + (rgb[3 * p + 2] - b) ** 2;
      if (d < bestDistance) {
        bestDistance = d;
        best = c;
      }
    }
    out[p] = best;
  }
  return out;
}

export interface Score {
  object: boolean;
  background: boolean;
}

export function scoreImage(rgb: Uint8Array, size: number, c: HeldOutCase): Score {
  const map = colorMap(rgb);
  const [col, row] = POSITIONS[c.position];
  // numpy's cell slice [row·size//3 : (row+1)·size//3], and the same for columns.
  const within = (v: number, i: number) =>
    v >= Math.floor((i * size) / 3) && v < Math.floor(((i + 1) * size) / 3);
  const cell = (x: number, y: number) => within(y, row) && within(x, col);
  let inCell = 0;
  let hits = 0;
  const outside = new Array(NAMES.length).fill(0);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const name = map[y * size + x];
      if (cell(x, y)) {
        inCell++;
        if (NAMES[name] === c.color) hits++;
      } else {
        outside[name]++;
      }
    }
  }
  return {
    object: hits / inCell >= 0.1,
    background: NAMES[outside.indexOf(Math.max(...outside))] === c.background,
  };
}

export async function rgbOf(png: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await sharp(png).removeAlpha().raw().toBuffer());
}
