// A workflow POST /prompt refuses, in ComfyUI's error shape (server.py post_prompt, execution.py
// validate_prompt): `{"error": {type, message, details, extra_info}, "node_errors": {id: {errors,
// dependent_outputs, class_type}}}`, with our `code` beside ComfyUI's `type` so the edge's one
// error shape holds too. Thrown, and rendered by the edge's one onError like every ApiError.
import { ApiError } from '../http/api-error.ts';

export interface NodeErrorItem {
  type: string;
  message: string;
  details: string;
  extra_info: Record<string, unknown>;
}

export interface NodeErrors {
  errors: NodeErrorItem[];
  dependent_outputs: string[];
  class_type: string;
}

export class ComfyPromptError extends ApiError {
  constructor(
    readonly type: string,
    message: string,
    readonly details: string,
    readonly nodeErrors: Record<string, NodeErrors> = {},
    status: 400 | 413 = 400,
  ) {
    super(status, type, message);
  }

  override toJSON() {
    return {
      error: {
        code: this.type,
        type: this.type,
        message: this.message,
        details: this.details,
        extra_info: {},
      },
      node_errors: this.nodeErrors,
    };
  }
}

/** One node's problem, as the only error of a refused workflow. */
export function nodeError(
  nodeId: string,
  classType: string,
  item: { type: string; message: string; details?: string; input?: string; rule?: string },
  outputs: string[] = [],
): ComfyPromptError {
  const error: NodeErrorItem = {
    type: item.type,
    message: item.message,
    details: item.details ?? '',
    extra_info: { ...(item.input && { input_name: item.input }), ...(item.rule && { rule: item.rule }) },
  };
  return new ComfyPromptError(
    'prompt_outputs_failed_validation',
    `Prompt outputs failed validation: node ${nodeId} (${classType}): ${item.message}${item.details ? `: ${item.details}` : ''}`,
    '',
    { [nodeId]: { errors: [error], dependent_outputs: outputs, class_type: classType } },
  );
}
