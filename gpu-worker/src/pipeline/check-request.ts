// Checks a generation request against the model that will run it, before any model runs: sizes
// the traced UNet can take, steps, strength, token ids inside the vocabulary, chunk lengths.
// Each failure names the field, the value and the rule.
import { LIMITS } from '@latent-edge/shared/protocol/limits';
import type { DiffusionModel } from '../model/diffusion-model.ts';
import type { GenerateRequest } from './generate.ts';

export class RequestError extends Error {
  override name = 'RequestError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

export interface ModelLimits {
  /** Largest width or height served for this model, in pixels. */
  maxSize: number;
  maxSteps: number;
}

export function checkGenerateRequest(
  model: DiffusionModel,
  request: GenerateRequest,
  limits: ModelLimits = { maxSize: LIMITS.maxSize, maxSteps: LIMITS.maxSteps },
): void {
  const { sizeMultiple } = model.folder;
  for (const side of ['width', 'height'] as const) {
    const value = request[side];
    if (!Number.isInteger(value) || value % sizeMultiple !== 0) {
      throw new RequestError(side, `${value} is not a multiple of ${sizeMultiple}, which this model needs`);
    }
    if (value < sizeMultiple || value > limits.maxSize) {
      throw new RequestError(side, `${value} is outside ${sizeMultiple}..${limits.maxSize} for this model`);
    }
  }
  if (!Number.isInteger(request.steps) || request.steps < 1 || request.steps > limits.maxSteps) {
    throw new RequestError('steps', `${request.steps} is outside 1..${limits.maxSteps}`);
  }
  if (request.seeds.length === 0) throw new RequestError('seeds', 'at least one seed is needed');
  if (request.initImage) {
    if (!model.folder.vaeEncoderPath)
      throw new RequestError('init_image', 'this model has no VAE encoder (img2img is off)');
    const s = request.strength;
    if (s === undefined || !(s > 0 && s <= 1))
      throw new RequestError('strength', `${s} must be in (0, 1] with an init image`);
  }
  if (request.inpaint && !request.initImage) {
    throw new RequestError('mask', 'a mask needs an init image to repaint');
  }
  if (request.outpaint) {
    if (request.inpaint)
      throw new RequestError('outpaint', 'outpaint brings its own mask: send no mask with it');
    if (!request.initImage) throw new RequestError('outpaint', 'outpainting needs an init image to extend');
    const { left, right, top, bottom } = request.outpaint;
    const sides = [left, right, top, bottom];
    if (sides.some((v) => !Number.isInteger(v) || v < 0) || sides.every((v) => v === 0))
      throw new RequestError(
        'outpaint',
        'give whole, non-negative pixels for each side, at least one above 0',
      );
    if (left + right >= request.width || top + bottom >= request.height)
      throw new RequestError('outpaint', 'the extensions leave no room for the image on the canvas');
  }
  const { maxLength } = model.tokenizer;
  const { hiddenSize, pooledSize } = model.spec;
  for (const field of ['prompt', 'negativePrompt'] as const) {
    const source = request[field];
    for (const [i, encoder] of model.textEncoders.entries()) {
      const chunks = i === 0 ? source.chunks : source.chunks2;
      const what = i === 0 ? field : `${field}.chunks_2`;
      if (!chunks) {
        throw new RequestError(
          what,
          'this model has two text encoders (SDXL): give chunks for the second too',
        );
      }
      if (chunks.length !== source.chunks.length) {
        throw new RequestError(
          what,
          `${chunks.length} chunks; the first encoder's prompt has ${source.chunks.length}`,
        );
      }
      checkChunks(chunks, encoder.tokenizer.maxLength, encoder.graph.idLimit, what);
    }
    if (source.chunks2 && model.textEncoders.length < 2) {
      throw new RequestError(`${field}.chunks_2`, 'this model has one text encoder');
    }
    const values = source.embedding ? source.embedding.length - pooledSize : 0;
    if (source.embedding && (values <= 0 || values % (maxLength * hiddenSize) !== 0)) {
      throw new RequestError(
        field,
        `embedding of ${source.embedding.length} values is not a multiple of ${maxLength}×${hiddenSize}${pooledSize ? ` plus ${pooledSize} pooled values` : ''}`,
      );
    }
  }
}

function checkChunks(
  chunks: GenerateRequest['prompt']['chunks'],
  maxLength: number,
  idLimit: number,
  field: string,
): void {
  for (const chunk of chunks) {
    if (chunk.ids.length !== maxLength || chunk.weights.length !== maxLength) {
      throw new RequestError(
        field,
        `each chunk must hold ${maxLength} ids and weights; got ${chunk.ids.length}`,
      );
    }
    const bad = chunk.ids.find((id) => !Number.isInteger(id) || id < 0 || id >= idLimit);
    if (bad !== undefined) {
      throw new RequestError(
        field,
        `token id ${bad} is outside this model's vocabulary and embeddings (${idLimit} ids)`,
      );
    }
  }
}
