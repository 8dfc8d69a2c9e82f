// The model with a set of LoRAs merged in, built on first use and kept in an LRU cache bounded by
// bytes (about the size of the graphs it replaced). The base model is never touched: an empty set
// (or every weight 0) is the base model itself, so its images stay bit-exact. A set is identified
// by its files' hashes and weights, in name order, so the same LoRAs in another order share it.
// Sets in use are never evicted; a set larger than the whole budget is built, used, then dropped.
import type { DiffusionModel, ModelVariant } from '../model/diffusion-model.ts';
import type { SessionSettings } from '../model/onnx-session.ts';
import type { LoraComponent } from './lora-file.ts';
import type { WeightedLayer } from './lora-graph.ts';
import type { LoraEntry, LoraLibrary } from './lora-library.ts';
import { openMergedSession } from './lora-session.ts';

export interface LoraChoice {
  entry: LoraEntry;
  weight: number;
}

export interface VariantLease {
  model: DiffusionModel;
  /** Whether the set was already built (a cache hit). */
  cached: boolean;
  release(): void;
}

interface CachedVariant {
  model: Promise<DiffusionModel>;
  bytes: number;
  users: number;
  lastUsed: number;
}

const ENCODERS: LoraComponent[] = ['text_encoder', 'text_encoder_2'];

function keyOf(choices: readonly LoraChoice[]): string {
  return choices.map((c) => `${c.entry.sha256.slice(0, 16)}@${c.weight}`).join('+');
}

/** Weights of a name given twice add up (A1111 applies each tag); weight-0 LoRAs drop out. */
export function normalizeChoices(choices: readonly LoraChoice[]): LoraChoice[] {
  const byName = new Map<string, LoraChoice>();
  for (const c of choices) {
    const seen = byName.get(c.entry.name);
    byName.set(c.entry.name, { entry: c.entry, weight: (seen?.weight ?? 0) + c.weight });
  }
  return [...byName.values()]
    .filter((c) => c.weight !== 0)
    .sort((a, b) => (a.entry.name < b.entry.name ? -1 : a.entry.name > b.entry.name ? 1 : 0));
}

export function variantOf(choices: readonly LoraChoice[]): ModelVariant {
  const text = choices.filter((c) => c.entry.components.some((k) => ENCODERS.includes(k)));
  return {
    key: keyOf(choices),
    textKey: text.length > 0 ? keyOf(text) : undefined,
    loras: choices.map((c) => ({ name: c.entry.name, sha256: c.entry.sha256, weight: c.weight })),
  };
}

export class LoraVariants {
  private readonly cache = new Map<string, CachedVariant>();
  private tick = 0;
  builds = 0;

  constructor(
    private readonly base: DiffusionModel,
    readonly library: LoraLibrary,
    private readonly settings: SessionSettings,
    private readonly maxBytes: number,
  ) {}

  get cachedBytes(): number {
    let total = 0;
    for (const v of this.cache.values()) total += v.bytes;
    return total;
  }

  get cachedSets(): number {
    return this.cache.size;
  }

  async acquire(requested: readonly LoraChoice[]): Promise<VariantLease> {
    const choices = normalizeChoices(requested);
    if (choices.length === 0) return { model: this.base, cached: true, release: () => {} };
    const variant = variantOf(choices);
    let cached = this.cache.get(variant.key);
    const hit = cached !== undefined;
    if (!cached) {
      const entry: CachedVariant = { model: Promise.resolve(this.base), bytes: 0, users: 0, lastUsed: 0 };
      entry.model = this.build(choices, variant, entry);
      cached = entry;
      this.cache.set(variant.key, entry);
      this.builds++;
    }
    const entry = cached;
    entry.users++;
    entry.lastUsed = ++this.tick;
    try {
      const model = await entry.model;
      let released = false;
      return {
        model,
        cached: hit,
        release: () => {
          if (released) return;
          released = true;
          entry.users--;
          this.evict();
        },
      };
    } catch (error) {
      entry.users--;
      if (this.cache.get(variant.key) === entry) this.cache.delete(variant.key);
      throw error;
    }
  }

  private async build(choices: LoraChoice[], variant: ModelVariant, entry: CachedVariant) {
    const components = new Set(choices.flatMap((c) => c.entry.components));
    const layersOf = (component: LoraComponent): WeightedLayer[] =>
      choices.flatMap((c) =>
        c.entry.file.layers
          .filter((layer) => layer.component === component)
          .map((layer) => ({ layer, weight: c.weight, lora: c.entry.name })),
      );
    const open = async (component: LoraComponent) => {
      const graph = this.library.graphs.get(component);
      if (!components.has(component) || !graph) return undefined;
      const merged = await openMergedSession(graph, layersOf(component), this.settings);
      entry.bytes += merged.bytes;
      return merged.session;
    };
    const [unet, textEncoder, textEncoder2] = await Promise.all([
      open('unet'),
      open('text_encoder'),
      open('text_encoder_2'),
    ]);
    return this.base.withSessions({ unet, textEncoders: [textEncoder, textEncoder2] }, variant);
  }

  /** Drops the least recently used sets nobody is using until the cache fits its budget. */
  private evict(): void {
    while (this.cachedBytes > this.maxBytes) {
      let oldest: [string, CachedVariant] | undefined;
      for (const item of this.cache) {
        if (item[1].users === 0 && item[1].bytes > 0 && (!oldest || item[1].lastUsed < oldest[1].lastUsed)) {
          oldest = item;
        }
      }
      if (!oldest) return;
      this.cache.delete(oldest[0]);
      void oldest[1].model.then((m) => m.release());
    }
  }

  async release(): Promise<void> {
    const models = [...this.cache.values()].map((v) => v.model.then((m) => m.release()).catch(() => {}));
    this.cache.clear();
    await Promise.all(models);
  }
}
