// Opening model folders: clear errors naming what is missing or does not fit.
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { loadDiffusionModel } from '../src/model/diffusion-model.ts';
import { ModelFolderError, openModelFolder } from '../src/model/model-folder.ts';
import { modelRevision } from '../src/model/model-revision.ts';
import { generate } from '../src/pipeline/generate.ts';
import { BUNDLED_MODEL, FIXTURES, request } from './support/models.ts';

const scratch = mkdtempSync(join(tmpdir(), 'models-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function copyOf(source: string, name: string): string {
  const dir = join(scratch, name);
  cpSync(source, dir, { recursive: true });
  return dir;
}

const load = (dir: string) => loadDiffusionModel(dir, { providers: ['cpu'], intraOpThreads: 1 });

describe('model folders', () => {
  it('reads the layout facts of the bundled model', () => {
    const folder = openModelFolder(BUNDLED_MODEL);
    expect(folder.schedulerClass).toBe('DDIMScheduler');
    expect(folder.vaeScalingFactor).toBeGreaterThan(0);
    expect(folder.vaeEncoderPath).toMatch(/vae_encoder\/model\.onnx$/);
    expect(folder.sizeMultiple % 8).toBe(0);
  });

  it('names a missing folder', async () => {
    await expect(load(join(scratch, 'nope'))).rejects.toThrow(/model folder .*nope does not exist/);
  });

  it('names a missing UNet', () => {
    const dir = copyOf(join(FIXTURES, 'int64'), 'no-unet');
    rmSync(join(dir, 'unet/model.onnx'));
    expect(() => openModelFolder(dir)).toThrow(/has no unet\/model\.onnx \(the UNet\)/);
  });

  it('names a missing tokenizer file', () => {
    const dir = copyOf(join(FIXTURES, 'int64'), 'no-merges');
    rmSync(join(dir, 'tokenizer/merges.txt'));
    expect(() => openModelFolder(dir)).toThrow(/has no tokenizer\/merges\.txt/);
  });

  it('names a scheduler config that is not JSON', () => {
    const dir = copyOf(join(FIXTURES, 'int64'), 'bad-scheduler');
    writeFileSync(join(dir, 'scheduler/scheduler_config.json'), '{ nope');
    expect(() => openModelFolder(dir)).toThrow(/scheduler_config\.json .* is not readable JSON/);
  });

  it('refuses a text encoder whose hidden size does not fit the UNet', async () => {
    const dir = copyOf(join(FIXTURES, 'int64'), 'mismatch');
    cpSync(join(BUNDLED_MODEL, 'text_encoder'), join(dir, 'text_encoder'), { recursive: true });
    cpSync(join(BUNDLED_MODEL, 'tokenizer'), join(dir, 'tokenizer'), { recursive: true });
    await expect(load(dir)).rejects.toThrow(/text_encoder hidden size \d+ does not fit the unet's 4/);
  });

  it('loads a UNet whose weights are in an external data file, to the same image', async () => {
    const external = await load(join(FIXTURES, 'external-data'));
    const inline = await load(join(FIXTURES, 'scalar-timestep'));
    const a = await generate(external, request(external, { seeds: [3] }));
    const b = await generate(inline, request(inline, { seeds: [3] }));
    // The PNG's parameters name the model, so compare the pixels.
    const pixels = async (png: Uint8Array) => (await sharp(png).raw().toBuffer()).toString('hex');
    expect(await pixels(a.images[0].bytes)).toBe(await pixels(b.images[0].bytes));
    await Promise.all([external.release(), inline.release()]);
  });

  it('names a graph whose external data file is missing', async () => {
    const dir = copyOf(join(FIXTURES, 'external-data'), 'no-external-data');
    rmSync(join(dir, 'unet/model.onnx_data'));
    const error = await load(dir).catch((e: Error) => e);
    expect(error).toBeInstanceOf(ModelFolderError);
    expect((error as Error).message).toMatch(/cannot open .*no-external-data\/unet\/model\.onnx/);
  });

  it('refuses a graph that is not an ONNX model', async () => {
    const dir = copyOf(join(FIXTURES, 'int64'), 'garbage');
    writeFileSync(join(dir, 'vae_decoder/model.onnx'), 'not a model');
    await expect(load(dir)).rejects.toThrow(/cannot open .*vae_decoder\/model\.onnx/);
  });
});

describe('model revision', () => {
  it('changes when any file changes and is stable otherwise', async () => {
    const dir = copyOf(join(FIXTURES, 'int64'), 'revision');
    const first = await modelRevision(dir);
    expect(await modelRevision(dir)).toBe(first);
    writeFileSync(
      join(dir, 'scheduler/scheduler_config.json'),
      JSON.stringify({ _class_name: 'DDIMScheduler' }),
    );
    expect(await modelRevision(dir)).not.toBe(first);
  });
});

describe('execution providers', () => {
  it('falls back from an unavailable provider to the CPU and says why', async () => {
    const messages: string[] = [];
    const m = await loadDiffusionModel(join(FIXTURES, 'int64'), {
      providers: ['cuda', 'cpu'],
      intraOpThreads: 1,
      log: (message) => messages.push(message),
    });
    expect(m.provider).toBe('cpu');
    // This machine has no CUDA binaries (the install skips them), so every graph logs the fallback.
    expect(messages.filter((line) => /fell back to cpu \(cuda: /.test(line))).toHaveLength(4);
    await m.release();
  });
});
