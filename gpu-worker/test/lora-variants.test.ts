// LoRA sets served with a model: the merged sessions against PyTorch's merge of the same file,
// the base model untouched and bit-exact at weight 0, sets cached by hash and weight (in any
// order), evicted least recently used within their byte budget but never while in use, and the
// library refusing at start what it could not apply.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type LoraEntry, type LoraLibrary, openLoraLibrary } from '../src/lora/lora-library.ts';
import { readTargetGraph } from '../src/lora/lora-session.ts';
import { LoraVariants } from '../src/lora/lora-variants.ts';
import { readSafetensors, tensorToFloat32 } from '../src/lora/safetensors.ts';
import { type DiffusionModel, loadDiffusionModel } from '../src/model/diffusion-model.ts';
import { ModelFolderError } from '../src/model/model-folder.ts';
import { modelRevision } from '../src/model/model-revision.ts';
import { generate } from '../src/pipeline/generate.ts';
import { LORA_FIXTURES, modelWithLoras } from './support/lora-folder.ts';
import { BUNDLED_MODEL, FIXTURES, request } from './support/models.ts';
import { safetensorsBytes } from './support/safetensors-file.ts';

const randomLora = readFileSync(join(LORA_FIXTURES, 'random-kohya.safetensors'));
const reference = JSON.parse(readFileSync(join(LORA_FIXTURES, 'random-kohya.reference.json'), 'utf8'));
const settings = { providers: ['cpu' as const], intraOpThreads: 1 };

const folders: string[] = [];
function folderWith(loras: Record<string, Uint8Array>): string {
  const dir = modelWithLoras(loras);
  folders.push(dirname(dir));
  return dir;
}
afterAll(() => {
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
});

function named(library: LoraLibrary, name: string): LoraEntry {
  const entry = library.entries.get(name);
  if (!entry) throw new Error(`no LoRA ${name} in the library`);
  return entry;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

async function served(loras: Record<string, Uint8Array>, maxBytes = 1e9) {
  const dir = folderWith(loras);
  const base = await loadDiffusionModel(dir, settings);
  const library = openLoraLibrary(base);
  return { base, library, variants: new LoraVariants(base, library, settings, maxBytes) };
}

function unetInput(m: DiffusionModel) {
  const { sample, timestep, encoder_hidden_states: hidden } = reference.unet;
  return {
    sample: Float32Array.from(sample.data),
    batch: 1,
    height: sample.dims[2],
    width: sample.dims[3],
    timesteps: [timestep],
    hiddenStates: Float32Array.from(hidden.data),
    sequenceLength: hidden.dims[1],
    ...(m.spec.timestepCondDim ? { timestepCond: new Float32Array(m.spec.timestepCondDim) } : {}),
  };
}

describe('a LoRA-merged model', () => {
  it('equals PyTorch merging the same file (text encoder and UNet, linear and LoCon layers, within 1e-4)', async () => {
    const { library, variants } = await served({ 'random.safetensors': randomLora });
    const entry = named(library, 'random');
    expect(entry.components.sort()).toEqual(['text_encoder', 'unet']);
    const lease = await variants.acquire([{ entry, weight: reference.weight }]);
    const hidden = await lease.model.textEncoders[0].encode(reference.input_ids, 1);
    // Source: infra/model/lora_reference.py (torch modules of the bundled model, merged in float32).
    expect(maxAbsDiff(hidden.hidden, reference.hidden.data)).toBeLessThan(1e-4);
    const out = await lease.model.predictNoise(unetInput(lease.model));
    expect(maxAbsDiff(out, reference.unet.out_sample.data)).toBeLessThan(1e-4);
    lease.release();
  });

  it('leaves the base model as it was, and weight 0 is the base model itself, bit-exact', async () => {
    const { base, library, variants } = await served({ 'random.safetensors': randomLora });
    const entry = named(library, 'random');
    const before = await base.predictNoise(unetInput(base));
    const merged = await variants.acquire([{ entry, weight: 1 }]);
    const changed = await merged.model.predictNoise(unetInput(merged.model));
    expect(maxAbsDiff(changed, before)).toBeGreaterThan(1e-2);
    expect(await base.predictNoise(unetInput(base))).toEqual(before);

    const zero = await variants.acquire([{ entry, weight: 0 }]);
    expect(zero.model).toBe(base);
    // The bundled folder without its add-ons: the same revision, which the PNG's parameters name.
    const plain = await loadDiffusionModel(folderWith({}), settings);
    const a = await generate(zero.model, request(zero.model, { seeds: [3] }));
    const b = await generate(plain, request(plain, { seeds: [3] }));
    expect(Buffer.from(a.images[0].bytes).equals(Buffer.from(b.images[0].bytes))).toBe(true);
    const withLora = await generate(merged.model, request(merged.model, { seeds: [3] }));
    expect(Buffer.from(withLora.images[0].bytes).equals(Buffer.from(b.images[0].bytes))).toBe(false);
    merged.release();
  });

  it('caches a set by hashes and weights in any order, and a changed weight is another set', async () => {
    const unetOnly = onlyUnetLayers(randomLora);
    const { library, variants } = await served({ 'a.safetensors': randomLora, 'b.safetensors': unetOnly });
    const a = named(library, 'a');
    const b = named(library, 'b');
    const first = await variants.acquire([
      { entry: a, weight: 0.5 },
      { entry: b, weight: 1 },
    ]);
    const again = await variants.acquire([
      { entry: b, weight: 1 },
      { entry: a, weight: 0.5 },
    ]);
    expect(first.cached).toBe(false);
    expect(again.cached).toBe(true);
    expect(again.model).toBe(first.model);
    expect(first.model.variant?.loras.map((l) => l.name)).toEqual(['a', 'b']);
    const other = await variants.acquire([
      { entry: a, weight: 0.6 },
      { entry: b, weight: 1 },
    ]);
    expect(other.model).not.toBe(first.model);
    expect(variants.builds).toBe(2);
    // A set that changes only the UNet keeps the base model's text-encoder cache; one that changes a text encoder does not.
    const unetSet = await variants.acquire([{ entry: b, weight: 1 }]);
    expect(unetSet.model.variant?.textKey).toBeUndefined();
    expect(first.model.variant?.textKey).toBeDefined();
    for (const lease of [first, again, other, unetSet]) lease.release();
  });

  it('evicts the least recently used set past its budget, never one in use', async () => {
    const { library, variants } = await served({ 'random.safetensors': randomLora }, 1);
    const entry = named(library, 'random');
    const held = await variants.acquire([{ entry, weight: 1 }]);
    const other = await variants.acquire([{ entry, weight: 0.5 }]);
    other.release();
    expect(variants.cachedSets).toBe(1); // over budget: the released set went, the held one stayed
    const again = await variants.acquire([{ entry, weight: 1 }]);
    expect(again.cached).toBe(true);
    // The held set still runs after the other's sessions were released.
    expect((await again.model.predictNoise(unetInput(again.model))).length).toBe(
      reference.unet.out_sample.data.length,
    );
    held.release();
    again.release();
    expect(variants.cachedSets).toBe(0);
  });
});

/** The same file with its text-encoder layers removed. */
function onlyUnetLayers(bytes: Uint8Array): Uint8Array {
  const tensors: Record<string, { shape: number[]; values: Float32Array }> = {};
  for (const [key, tensor] of readSafetensors(bytes).tensors) {
    if (key.startsWith('lora_unet_')) tensors[key] = { shape: tensor.shape, values: tensorToFloat32(tensor) };
  }
  return safetensorsBytes(tensors);
}

describe('the LoRA library', () => {
  it('names each file by its base name and hash, and adding one keeps the model revision', async () => {
    const dir = folderWith({ 'random.safetensors': randomLora });
    const base = await loadDiffusionModel(dir, settings);
    const { entries } = openLoraLibrary(base);
    expect(entries.get('random')?.sha256).toBe(createHash('sha256').update(randomLora).digest('hex'));
    // The same model without loras/ (embeddings, unlike LoRAs, are part of the revision).
    expect(base.revision).toBe(await modelRevision(folderWith({})));
    expect(base.revision).not.toBe(await modelRevision(BUNDLED_MODEL));
  });

  it.each([
    ['not a safetensors file', new TextEncoder().encode('{"not": "safetensors"}'), /random.safetensors/],
    [
      'a LoRA for another model (a module the graph lacks)',
      safetensorsBytes({
        'lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight': {
          shape: [1, 4],
          values: [1, 2, 3, 4],
        },
        'lora_unet_down_blocks_0_attentions_0_proj_in.lora_up.weight': {
          shape: [4, 1],
          values: [1, 2, 3, 4],
        },
      }),
      /has no layer down_blocks_0_attentions_0_proj_in/,
    ],
    [
      'a LoRA whose shapes differ from the model',
      safetensorsBytes({
        'lora_unet_down_0_attentions_0_attn1_to_q.lora_down.weight': { shape: [1, 3], values: [1, 2, 3] },
        'lora_unet_down_0_attentions_0_attn1_to_q.lora_up.weight': { shape: [3, 1], values: [1, 2, 3] },
      }),
      /the LoRA changes a \[3, 3\] weight/,
    ],
    [
      'an SDXL LoRA (second text encoder)',
      safetensorsBytes({
        'lora_te2_layers_0_self_attn_q_proj.lora_down.weight': { shape: [1, 2], values: [1, 2] },
        'lora_te2_layers_0_self_attn_q_proj.lora_up.weight': { shape: [2, 1], values: [1, 2] },
      }),
      /text_encoder_2, which this model does not have/,
    ],
  ])('refuses %s at start, naming the file', async (_what, bytes, message) => {
    const dir = folderWith({ 'random.safetensors': bytes });
    const base = await loadDiffusionModel(dir, settings);
    expect(() => openLoraLibrary(base)).toThrow(ModelFolderError);
    expect(() => openLoraLibrary(base)).toThrow(message);
    expect(() => openLoraLibrary(base)).toThrow(join(dir, 'loras', 'random.safetensors'));
  });

  it('refuses a file name that <lora:name:weight> cannot write', async () => {
    const dir = folderWith({ 'a:b.safetensors': randomLora });
    writeFileSync(join(dir, 'loras', 'notes.txt'), 'ignored');
    const base = await loadDiffusionModel(dir, settings);
    expect(() => openLoraLibrary(base)).toThrow(/cannot be written as <lora:name:weight>/);
  });
});

describe('a graph with external data', () => {
  it('merges the same as the graph it was re-saved from, through a temporary folder it removes', async () => {
    const graph = readTargetGraph('unet', join(FIXTURES, 'scalar-timestep', 'unet', 'model.onnx'));
    const dimsOf = (initializer: string) => graph.layout.initializers.get(initializer)?.dims ?? [];
    const pick = (test: (dims: number[], transposed: boolean) => boolean) => {
      const found = [...graph.weights].find(([, t]) => test(dimsOf(t.initializer), t.transposed));
      if (!found) throw new Error('the fixture has no such weight');
      return found;
    };
    const [linear, linearTarget] = pick((dims, transposed) => transposed && dims.length === 2);
    const [conv, convTarget] = pick((dims) => dims.length === 4 && dims[2] === 3);
    const [inDim, outDim] = dimsOf(linearTarget.initializer);
    const [outChannels, inChannels] = dimsOf(convTarget.initializer);
    const ramp = (n: number, scale: number) => Array.from({ length: n }, (_, i) => Math.sin(i + 1) * scale);
    const lora = safetensorsBytes({
      [`lora_unet_${linear}.lora_down.weight`]: { shape: [2, inDim], values: ramp(2 * inDim, 0.5) },
      [`lora_unet_${linear}.lora_up.weight`]: { shape: [outDim, 2], values: ramp(2 * outDim, 0.5) },
      [`lora_unet_${conv}.lora_down.weight`]: {
        shape: [2, inChannels, 3, 3],
        values: ramp(18 * inChannels, 0.2),
      },
      [`lora_unet_${conv}.lora_up.weight`]: {
        shape: [outChannels, 2, 1, 1],
        values: ramp(2 * outChannels, 0.5),
      },
    });
    const outputs = [];
    for (const fixture of ['scalar-timestep', 'external-data']) {
      const dir = modelWithLoras({ 'ramp.safetensors': lora }, join(FIXTURES, fixture));
      folders.push(dirname(dir));
      const base = await loadDiffusionModel(dir, settings);
      const library = openLoraLibrary(base);
      expect(library.graphs.get('unet')?.externalFiles).toEqual(
        fixture === 'external-data' ? ['model.onnx_data'] : [],
      );
      const variants = new LoraVariants(base, library, settings, 1e9);
      const lease = await variants.acquire([{ entry: named(library, 'ramp'), weight: 1 }]);
      const input = {
        sample: Float32Array.from(ramp(4 * 8 * 8, 1)),
        batch: 1,
        height: 8,
        width: 8,
        timesteps: [500],
        hiddenStates: Float32Array.from(ramp(77 * base.spec.hiddenSize, 1)),
        sequenceLength: 77,
      };
      const merged = await lease.model.predictNoise(input);
      expect(maxAbsDiff(merged, await base.predictNoise(input))).toBeGreaterThan(1e-3);
      outputs.push(merged);
      lease.release();
    }
    expect(outputs[1]).toEqual(outputs[0]);
    expect(readdirSync(tmpdir()).filter((name) => name.startsWith('latent-edge-lora-'))).toEqual([]);
  });
});
