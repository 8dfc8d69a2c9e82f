// The native request a workflow became is validated by the same shared schema and model limits as
// every other route; a refusal names a native field (`steps`, `prompt`), which is re-told here as
// the node input it came from, in ComfyUI's node_errors shape.
import { GenerationRequest } from '@latent-edge/shared/protocol/generation-request';
import { parseWith } from '@latent-edge/shared/protocol/validation-error';
import { ApiError } from '../http/api-error.ts';
import type { EvaluatedWorkflow } from './evaluate-graph.ts';
import { ComfyPromptError, nodeError } from './prompt-error.ts';
import type { Workflow } from './workflow.ts';

function asNodeError(error: ApiError, workflow: Workflow, evaluated: EvaluatedWorkflow): ComfyPromptError {
  if (error instanceof ComfyPromptError) return error;
  const top = error.options.field?.split(/[.[]/)[0];
  const origin = top !== undefined ? evaluated.origins[top] : undefined;
  if (!origin) return new ComfyPromptError('invalid_prompt', error.message, '', {});
  const message =
    top && error.message.startsWith(top)
      ? `${origin.input}${error.message.slice(top.length)}`
      : error.message;
  const refused = nodeError(
    origin.node,
    workflow[origin.node].class_type,
    { type: error.code, message, input: origin.input, rule: error.options.rule },
    [evaluated.outputNode],
  );
  return error.status === 413
    ? new ComfyPromptError(refused.type, refused.message, '', refused.nodeErrors, 413)
    : refused;
}

/** The shared schema's parse of the evaluated request, refusals told by node. */
export function nativeWorkflowRequest(
  workflow: Workflow,
  evaluated: EvaluatedWorkflow,
  initImage: string | undefined,
  mask?: string,
): GenerationRequest {
  const parsed = parseWith(GenerationRequest, {
    ...evaluated.request,
    ...(initImage !== undefined && { init_image: initImage }),
    // ComfyUI's noise mask: hard-edged, the picture itself under it.
    ...(mask !== undefined && { mask, mask_source: 'alpha', mask_blur: 0, masked_content: 'original' }),
  });
  if (parsed.success) return parsed.data;
  const { code, message, field } = parsed.error;
  throw asNodeError(new ApiError(400, code, message, { field }), workflow, evaluated);
}

/** Runs `run` (the model's limits, tokenizing) with its 400s and 413s told by node. */
export async function withNodeErrors<T>(
  workflow: Workflow,
  evaluated: EvaluatedWorkflow,
  run: () => Promise<T>,
): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof ApiError && (error.status === 400 || error.status === 413)) {
      throw asNodeError(error, workflow, evaluated);
    }
    throw error;
  }
}
