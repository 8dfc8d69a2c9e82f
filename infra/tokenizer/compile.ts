// `npm run build:tokenizers`: compiles the tokenizer/ folder of every model in wrangler.toml's
// MODELS into edge/generated/<id>.tokenizer.bin (the compact form the Worker loads in under a
// millisecond), and a two-encoder model's tokenizer_2/ (SDXL's OpenCLIP tokenizer, with its own
// pad token) into <id>.tokenizer_2.bin, and writes edge/generated/models.ts, which imports each blob and records the
// model's revision (a hash of its files, the same one the gpu-worker computes), so the edge puts
// the right revision into every cache key and job, and the model's LoRAs (`loras/*.safetensors`:
// name, SHA-256, whether it changes a text encoder), so the edge can refuse unknown names and key
// caches by the files' hashes. Files are rewritten only when their bytes
// change, so running it again is free and leaves the checkout clean.
//
// wrangler.toml's [build] runs this before `wrangler dev` and `wrangler deploy`; the edge test
// project runs it as a global setup. A model folder that is absent (an edge built without the
// weights) keeps its committed blob, provided MODELS pins its `revision`.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { experimental_readRawConfig } from 'wrangler';
import { parseEmbedding } from '../../gpu-worker/src/embeddings/embedding-file.ts';
import { parseLora } from '../../gpu-worker/src/lora/lora-file.ts';
import { readSafetensors, type SafetensorsFile } from '../../gpu-worker/src/lora/safetensors.ts';
import { modelRevision } from '../../gpu-worker/src/model/model-revision.ts';
import { readTokenizerDir } from '../../shared/src/node/tokenizer-dir.ts';
import { compileTokenizer } from '../../shared/src/tokenizer/compiled-tokenizer.ts';
import { readTokenizerFiles } from '../../shared/src/tokenizer/tokenizer-files.ts';

const ROOT = resolve(import.meta.dirname, '../..');

interface ModelSource {
  id: string;
  /** Model folder, relative to the repository root. */
  source?: string;
  /** Pinned revision; computed from `source` when absent. */
  revision?: string;
}

export interface CompileOptions {
  configPath?: string;
  outDir?: string;
  log?: (message: string) => void;
}

export interface CompiledModel {
  id: string;
  revision: string;
  blobPath: string;
  /** The second text encoder's tokenizer (SDXL's OpenCLIP: its own pad token), when the model has one. */
  blobPath2?: string;
  loras: CompiledLora[];
  embeddings: CompiledEmbedding[];
}

export interface CompiledEmbedding {
  name: string;
  sha256: string;
  /** Prompt tokens it takes. */
  vectors: number;
  /** Width of its first text encoder's vectors (A1111's `shape`). */
  width: number;
}

export interface CompiledLora {
  name: string;
  sha256: string;
  /** Changes a text encoder (so its embeddings are not the base model's). */
  textEncoder: boolean;
}

/**
 * Each `<sub>/*.safetensors` of the model folder in name order (as the gpu-worker reads them):
 * its base name, SHA-256, and what `describe` reads from the parsed file.
 */
function readAddOns<T>(dir: string, sub: string, describe: (file: SafetensorsFile, path: string) => T) {
  const folder = join(dir, sub);
  if (!existsSync(folder)) return [];
  return readdirSync(folder)
    .filter((name) => name.endsWith('.safetensors'))
    .sort()
    .map((file) => {
      const path = join(folder, file);
      const bytes = readFileSync(path);
      return {
        name: file.slice(0, -'.safetensors'.length),
        sha256: createHash('sha256').update(bytes).digest('hex'),
        ...describe(readSafetensors(bytes, path), path),
      };
    });
}

/** The model folder's LoRA files (the gpu-worker's start refuses bad ones). */
function readLoras(dir: string): CompiledLora[] {
  return readAddOns(dir, 'loras', (file, path) => ({
    textEncoder: parseLora(file, path).layers.some((layer) => layer.component !== 'unet'),
  }));
}

/** The folder's textual-inversion embeddings, in name order: the order of their ids. */
function readEmbeddings(dir: string): CompiledEmbedding[] {
  const encoders = existsSync(join(dir, 'text_encoder_2')) ? 2 : 1;
  return readAddOns(dir, 'embeddings', (file) => {
    const { vectors, rows } = parseEmbedding(file, encoders);
    return { vectors, width: rows[0].width };
  });
}

/** A list generated last time (`loras`, `embeddings`), when the model folder is not here to read. */
function committedList<T>(modulePath: string, id: string, key: string): T[] {
  if (!existsSync(modulePath)) return [];
  const line = readFileSync(modulePath, 'utf8')
    .split('\n')
    .find((l) => l.includes(`id: ${JSON.stringify(id)}`));
  const list = line?.match(new RegExp(`${key}: (\\[.*?\\])(, \\w+:| })`))?.[1];
  return list ? (JSON.parse(list) as T[]) : [];
}

/** Writes `bytes` to `path` unless the file already holds exactly them; true when written. */
function writeIfChanged(path: string, bytes: Uint8Array | string): boolean {
  const next = typeof bytes === 'string' ? Buffer.from(bytes) : Buffer.from(bytes);
  if (existsSync(path) && readFileSync(path).equals(next)) return false;
  writeFileSync(path, next);
  return true;
}

function readModelSources(configPath: string): ModelSource[] {
  const { rawConfig } = experimental_readRawConfig({ config: configPath });
  const models = (rawConfig.vars as Record<string, unknown> | undefined)?.MODELS;
  if (!Array.isArray(models) || models.length === 0) {
    throw new Error(`${configPath}: [vars] MODELS must list at least one model`);
  }
  return models.map((entry, i) => {
    const model = entry as ModelSource;
    if (typeof model.id !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(model.id)) {
      throw new Error(`${configPath}: MODELS[${i}].id must be 1-64 letters, digits, . _ or -`);
    }
    return model;
  });
}

/** The previously generated revision of a model, when its folder is not here to hash. */
function committedRevision(modulePath: string, id: string): string | undefined {
  if (!existsSync(modulePath)) return undefined;
  const line = readFileSync(modulePath, 'utf8')
    .split('\n')
    .find((l) => l.includes(`id: ${JSON.stringify(id)}`));
  return line?.match(/revision: "([^"]+)"/)?.[1];
}

export async function compileModelTokenizers(options: CompileOptions = {}): Promise<CompiledModel[]> {
  const configPath = options.configPath ?? join(ROOT, 'wrangler.toml');
  const outDir = options.outDir ?? join(ROOT, 'edge/generated');
  const log = options.log ?? ((message: string) => console.log(`[build:tokenizers] ${message}`));
  mkdirSync(outDir, { recursive: true });
  const modulePath = join(outDir, 'models.ts');

  const compiled: CompiledModel[] = [];
  for (const model of readModelSources(configPath)) {
    const blobPath = join(outDir, `${model.id}.tokenizer.bin`);
    const blobPath2 = join(outDir, `${model.id}.tokenizer_2.bin`);
    const dir = model.source ? resolve(ROOT, model.source) : undefined;
    let revision = model.revision;
    if (dir && existsSync(join(dir, 'tokenizer'))) {
      const sizes: string[] = [];
      for (const [folder, path] of [
        ['tokenizer', blobPath],
        ['tokenizer_2', blobPath2],
      ] as const) {
        if (!existsSync(join(dir, folder))) continue;
        const blob = compileTokenizer(readTokenizerFiles(readTokenizerDir(join(dir, folder))));
        const written = writeIfChanged(path, blob);
        sizes.push(`${folder} ${blob.length} bytes${written ? ', written' : ', unchanged'}`);
      }
      revision ??= await modelRevision(dir);
      log(`${model.id}@${revision}: ${sizes.join('; ')}`);
      const second = existsSync(join(dir, 'tokenizer_2'));
      const loras = readLoras(dir);
      if (loras.length > 0) log(`${model.id}: LoRAs ${loras.map((l) => l.name).join(', ')}`);
      const embeddings = readEmbeddings(dir);
      if (embeddings.length > 0) log(`${model.id}: embeddings ${embeddings.map((e) => e.name).join(', ')}`);
      compiled.push({
        id: model.id,
        revision,
        blobPath,
        blobPath2: second ? blobPath2 : undefined,
        loras,
        embeddings,
      });
      continue;
    }
    revision ??= committedRevision(modulePath, model.id);
    if (!existsSync(blobPath) || !revision) {
      throw new Error(
        `model "${model.id}": no tokenizer folder at ${dir ?? '(no source)'}/tokenizer and no committed ` +
          `${blobPath} with a known revision; set MODELS.source, or MODELS.revision and keep the blob`,
      );
    }
    log(`${model.id}@${revision}: model folder absent, keeping ${blobPath}`);
    compiled.push({
      id: model.id,
      revision,
      blobPath,
      blobPath2: existsSync(blobPath2) ? blobPath2 : undefined,
      loras: committedList<CompiledLora>(modulePath, model.id, 'loras'),
      embeddings: committedList<CompiledEmbedding>(modulePath, model.id, 'embeddings'),
    });
  }

  const imports = compiled.flatMap((m, i) => [
    `import tokenizer${i} from './${m.id}.tokenizer.bin';`,
    ...(m.blobPath2 ? [`import tokenizer${i}_2 from './${m.id}.tokenizer_2.bin';`] : []),
  ]);
  const entries = compiled.map(
    (m, i) =>
      `  { id: ${JSON.stringify(m.id)}, revision: ${JSON.stringify(m.revision)}, tokenizer: tokenizer${i}` +
      `${m.blobPath2 ? `, tokenizer2: tokenizer${i}_2` : ''}, loras: ${JSON.stringify(m.loras)}, embeddings: ${JSON.stringify(m.embeddings)} },`,
  );
  const source = [
    '// Generated by infra/tokenizer/compile.ts (npm run build:tokenizers) from wrangler.toml MODELS.',
    '// Do not edit: each model compiled tokenizer and its revision (a hash of the model files).',
    ...imports,
    '',
    'export interface CompiledModel {',
    '  id: string;',
    '  revision: string;',
    '  tokenizer: ArrayBuffer;',
    '  /** The second text encoder tokenizer (SDXL), when the model has one. */',
    '  tokenizer2?: ArrayBuffer;',
    '  /** The LoRA files in the model folder loras/: name, SHA-256, and whether it changes a text encoder. */',
    '  loras: readonly { name: string; sha256: string; textEncoder: boolean }[];',
    '  /** The textual-inversion embeddings in embeddings/, in name order: name, SHA-256, vectors. */',
    '  embeddings: readonly { name: string; sha256: string; vectors: number; width: number }[];',
    '}',
    '',
    'export const COMPILED_MODELS: readonly CompiledModel[] = [',
    ...entries,
    '];',
    '',
  ].join('\n');
  writeIfChanged(modulePath, source);
  return compiled;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  compileModelTokenizers().catch((error: Error) => {
    console.error(`[build:tokenizers] ${error.message}`);
    process.exit(1);
  });
}
