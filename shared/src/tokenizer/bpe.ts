// Byte-pair encoding over token ids rather than strings (openai/CLIP simple_tokenizer.py `bpe`):
// a word starts as its bytes' ids, the last carrying `</w>`; the adjacent pair with the lowest
// merge rank is merged everywhere, left to right, until no pair has a rank. Working on ids avoids
// building strings and looking them up, which is most of the cost in the reference.
//
// Pair → rank lookups use an open-addressing hash table in a typed array. It can be built once at
// build time and shipped inside the compiled tokenizer, so loading costs no hashing at all.

export interface MergeTable {
  /** Merge triples (left id, right id, merged id) in rank order. */
  readonly merges: Uint32Array;
  /** Hash slots holding a rank, or EMPTY; linear probing, size a power of two. */
  readonly slots: Uint32Array;
}

const EMPTY = 0xffffffff;

function slotOf(left: number, right: number, mask: number): number {
  return (Math.imul(left, 0x9e3779b1) ^ Math.imul(right, 0x85ebca77)) & mask;
}

/** Builds the slots for `merges` at a load factor under 0.4, so a miss costs about two probes. */
export function buildMergeSlots(merges: Uint32Array): Uint32Array {
  const count = merges.length / 3;
  let size = 1024;
  while (size < count * 2.5) size *= 2;
  const slots = new Uint32Array(size).fill(EMPTY);
  const mask = size - 1;
  for (let rank = 0; rank < count; rank++) {
    const left = merges[3 * rank];
    const right = merges[3 * rank + 1];
    let slot = slotOf(left, right, mask);
    let duplicate = false;
    while (slots[slot] !== EMPTY) {
      const other = slots[slot];
      if (merges[3 * other] === left && merges[3 * other + 1] === right) duplicate = true;
      slot = (slot + 1) & mask;
    }
    // A pair listed twice takes its last rank, as the reference's
    // `dict(zip(merges, range(len(merges))))` does.
    if (duplicate) {
      let s = slotOf(left, right, mask);
      while (!(merges[3 * slots[s]] === left && merges[3 * slots[s] + 1] === right)) s = (s + 1) & mask;
      slots[s] = rank;
    } else {
      slots[slot] = rank;
    }
  }
  return slots;
}

function rankOf(table: MergeTable, left: number, right: number): number {
  const { merges, slots } = table;
  const mask = slots.length - 1;
  for (let slot = slotOf(left, right, mask); ; slot = (slot + 1) & mask) {
    const rank = slots[slot];
    if (rank === EMPTY) return -1;
    if (merges[3 * rank] === left && merges[3 * rank + 1] === right) return rank;
  }
}

/** Merges `word` (initial ids, modified in place) and returns the final ids. */
export function bpe(word: number[], table: MergeTable): number[] {
  while (word.length > 1) {
    let best = -1;
    for (let i = 0; i + 1 < word.length; i++) {
      const rank = rankOf(table, word[i], word[i + 1]);
      if (rank >= 0 && (best < 0 || rank < best)) best = rank;
    }
    if (best < 0) break;
    const left = table.merges[3 * best];
    const right = table.merges[3 * best + 1];
    const merged = table.merges[3 * best + 2];
    let out = 0;
    for (let i = 0; i < word.length; i++) {
      if (word[i] === left && i + 1 < word.length && word[i + 1] === right) {
        word[out++] = merged;
        i++;
      } else {
        word[out++] = word[i];
      }
    }
    word.length = out;
  }
  return word;
}
