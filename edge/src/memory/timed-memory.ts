// What an isolate has learned lately, each fact with the time it was learned, looked up with the
// greatest age the caller still trusts. Isolate memory belongs to one Worker instance and is
// dropped whenever the runtime likes, so it only ever saves a read, never stands in for one that
// must happen. Bounded: when full, the fact learned longest ago goes first.
export class TimedMemory<V> {
  /** Insertion order is learning order: a fact learned again moves to the end. */
  private readonly entries = new Map<string, { value: V; learnedAt: number }>();

  constructor(readonly capacity: number) {}

  /** The value learned for `key` less than `maxAgeMs` ago, if any. */
  recall(key: string, maxAgeMs: number, now = Date.now()): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (now - entry.learnedAt < maxAgeMs) return entry.value;
    this.entries.delete(key);
    return undefined;
  }

  learn(key: string, value: V, learnedAt = Date.now()): void {
    this.entries.delete(key);
    if (this.entries.size >= this.capacity) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(key, { value, learnedAt });
  }
}
