// `npm run generate -- --prompt "..." --out image.png`: one generation on this machine, with the
// bundled model unless --model names another folder. Everything is validated before a model runs.
import { randomInt } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { extname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { GenerationRequest } from '@latent-edge/shared/protocol/generation-request';
import { LIMITS } from '@latent-edge/shared/protocol/limits';
import { parseWith } from '@latent-edge/shared/protocol/validation-error';
import sharp from 'sharp';
import { loadDiffusionModel } from '../model/diffusion-model.ts';
import { openModelFolder } from '../model/model-folder.ts';
import { checkGenerateRequest } from '../pipeline/check-request.ts';
import { generate } from '../pipeline/generate.ts';
import { defaultSchedulerFor } from '../pipeline/scheduler-defaults.ts';
import { tokenizePrompt } from '../pipeline/tokenize-prompt.ts';

export const BUNDLED_MODEL = resolve(import.meta.dirname, '../../models/tiny-sd');

const USAGE = `usage: npm run generate -- --prompt TEXT --out FILE.(png|webp|jpg)
  [--negative TEXT] [--seed N] [--steps N] [--scheduler NAME] [--guidance X] [--size WxH]
  [--n N] [--init-image FILE --strength S] [--model DIR] [--threads N]`;

class UsageError extends Error {}

function fail(message: string): never {
  throw new UsageError(message);
}

function number(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) fail(`--${flag}: "${value}" is not a number`);
  return n;
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      prompt: { type: 'string' },
      negative: { type: 'string', default: '' },
      seed: { type: 'string' },
      steps: { type: 'string' },
      scheduler: { type: 'string' },
      guidance: { type: 'string' },
      size: { type: 'string' },
      n: { type: 'string' },
      'init-image': { type: 'string' },
      strength: { type: 'string' },
      model: { type: 'string' },
      out: { type: 'string' },
      threads: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (!values.prompt) fail('--prompt is required');
  if (!values.out) fail('--out is required');
  const ext = extname(values.out).slice(1).toLowerCase();
  const format = ext === 'jpg' ? 'jpeg' : ext;
  if (format !== 'png' && format !== 'webp' && format !== 'jpeg')
    fail(`--out: "${values.out}" must end in .png, .webp or .jpg`);

  let width: number | undefined;
  let height: number | undefined;
  if (values.size) {
    const match = /^(\d+)x(\d+)$/.exec(values.size);
    if (!match) fail(`--size: "${values.size}" must look like 512x512`);
    width = Number(match[1]);
    height = Number(match[2]);
  }

  // The same schema and messages as the HTTP API.
  const parsed = parseWith(GenerationRequest, {
    prompt: values.prompt,
    negative_prompt: values.negative,
    width,
    height,
    steps: number(values.steps, 'steps'),
    guidance_scale: number(values.guidance, 'guidance'),
    scheduler: values.scheduler,
    seed: number(values.seed, 'seed') ?? -1,
    n: number(values.n, 'n') ?? 1,
    output_format: format,
    strength: number(values.strength, 'strength'),
  });
  if (!parsed.success) fail(parsed.error.message);
  const request = parsed.data;

  let initImage: Uint8Array | undefined;
  if (values['init-image']) {
    const path = values['init-image'];
    if (!existsSync(path)) fail(`--init-image: ${path} does not exist`);
    initImage = readFileSync(path);
    await sharp(initImage)
      .metadata()
      .catch(() => fail(`--init-image: ${path} is not an image this tool can read (PNG, JPEG, WebP)`));
    if (request.strength === undefined) request.strength = 0.6;
  }

  const modelDir = resolve(values.model ?? BUNDLED_MODEL);
  const folder = openModelFolder(modelDir);
  const scheduler =
    request.scheduler ??
    defaultSchedulerFor(folder.schedulerClass, folder.schedulerConfig.use_karras_sigmas === true);
  const threads = number(values.threads, 'threads') ?? Math.min(availableParallelism(), 4);
  const model = await loadDiffusionModel(modelDir, {
    providers: ['cpu'],
    intraOpThreads: threads,
    log: console.error,
  });
  const prompt = tokenizePrompt(model, request.prompt, {
    maxChunks: LIMITS.maxPromptChunks,
  });
  const negativePrompt = tokenizePrompt(model, request.negative_prompt, {
    maxChunks: LIMITS.maxPromptChunks,
  });
  const seed = request.seed === -1 ? randomInt(0, 2 ** 32) : request.seed;
  const generateRequest = {
    prompt,
    negativePrompt,
    width: request.width ?? folder.nativeSize,
    height: request.height ?? folder.nativeSize,
    steps: request.steps ?? 20,
    guidanceScale: request.guidance_scale ?? 7.5,
    guidanceRescale: request.guidance_rescale,
    scheduler,
    seeds: Array.from({ length: request.n }, (_, i) => seed + i),
    outputFormat: request.output_format,
    initImage,
    strength: request.strength,
    promptText: request.prompt,
    negativePromptText: request.negative_prompt,
  };
  checkGenerateRequest(model, generateRequest);

  const result = await generate(model, generateRequest);
  for (const [i, image] of result.images.entries()) {
    const path = result.images.length === 1 ? values.out : values.out.replace(/(\.[^.]+)$/, `-${i + 1}$1`);
    writeFileSync(path, image.bytes);
    console.log(`${path}  seed ${image.seed}  ${image.width}x${image.height}`);
  }
  const t = result.timingsMs;
  console.log(
    `model ${model.id}@${model.revision} on ${model.provider}; ${generateRequest.steps} steps ${scheduler}; ` +
      `encode ${t.encode.toFixed(0)} ms, denoise ${t.denoise.toFixed(0)} ms, decode ${t.decode.toFixed(0)} ms, image ${t.image.toFixed(0)} ms`,
  );
  await model.release();
}

main(process.argv.slice(2)).catch((error: Error) => {
  const usage =
    error instanceof UsageError || error.name === 'RequestError' || error.name === 'ModelFolderError';
  console.error(`error: ${error.message}${error instanceof UsageError ? `\n${USAGE}` : ''}`);
  process.exitCode = usage ? 2 : 1;
});
