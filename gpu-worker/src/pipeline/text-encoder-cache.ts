// The text encoder runs once per distinct chunk of token ids: its raw output ([length, hidden],
// before prompt weights) is kept in a small LRU keyed by model revision and ids.

export class TextEncoderCache {
  private readonly entries = new Map<string, Float32Array>();
  hits = 0;
  misses = 0;

  constructor(private readonly capacity = 256) {}

  static key(revision: string, ids: readonly number[]): string {
    return `${revision}:${ids.join(',')}`;
  }

  get(key: string): Float32Array | undefined {
    const value = this.entries.get(key);
    if (value) {
      // Re-insert to mark as most recently used (a Map iterates in insertion order).
      this.entries.delete(key);
      this.entries.set(key, value);
      this.hits++;
    } else {
      this.misses++;
    }
    return value;
  }

  set(key: string, value: Float32Array): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as string);
  }

  get size(): number {
    return this.entries.size;
  }
}
