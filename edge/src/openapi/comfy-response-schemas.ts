// The ComfyUI-compatible API's answers (ComfyUI's server.py shapes), for the OpenAPI document.
// Node graphs and history entries are ComfyUI's own open-ended JSON, described by their keys.
import { z } from 'zod';

export const ComfyPromptResponse = z.strictObject({
  prompt_id: z.uuid(),
  number: z.int().describe('The run’s place in this key’s numbering (ComfyUI’s queue number).'),
  node_errors: z.strictObject({}),
});

const NodeErrorItem = z.strictObject({
  type: z.string(),
  message: z.string(),
  details: z.string(),
  extra_info: z.record(z.string(), z.unknown()),
});

export const ComfyPromptError = z.strictObject({
  error: z.strictObject({
    code: z.string().describe('The same as `type`, so the edge’s ErrorBody fields hold too.'),
    type: z
      .string()
      .describe(
        'ComfyUI’s error type: missing_node_type, prompt_outputs_failed_validation, prompt_no_outputs, invalid_prompt, no_prompt.',
      ),
    message: z.string(),
    details: z.string(),
    extra_info: z.record(z.string(), z.unknown()),
  }),
  node_errors: z.record(
    z.string(),
    z.strictObject({
      errors: z.array(NodeErrorItem),
      dependent_outputs: z.array(z.string()),
      class_type: z.string(),
    }),
  ),
});

const OutputImage = z.strictObject({
  filename: z.string(),
  subfolder: z.string(),
  type: z.literal('output'),
});

export const ComfyHistory = z.record(
  z.string(),
  z.strictObject({
    prompt: z.array(z.unknown()).describe('[number, prompt_id, workflow, extra_data, output node ids]'),
    outputs: z.record(z.string(), z.strictObject({ images: z.array(OutputImage) })),
    status: z.strictObject({
      status_str: z.enum(['success', 'error']),
      completed: z.boolean(),
      messages: z.array(z.array(z.unknown())),
    }),
    meta: z.record(z.string(), z.unknown()),
  }),
);

export const ComfyQueue = z.strictObject({
  queue_running: z.array(z.array(z.unknown())),
  queue_pending: z.array(z.array(z.unknown())),
});

export const ComfyExecInfo = z.strictObject({ exec_info: z.strictObject({ queue_remaining: z.int() }) });

export const ComfyUploadResponse = z.strictObject({
  name: z.string().describe('The image’s SHA-256 and extension: the value for LoadImage’s `image`.'),
  subfolder: z.literal(''),
  type: z.literal('input'),
});

export const ComfyObjectInfo = z.record(
  z.string(),
  z.strictObject({
    input: z.strictObject({ required: z.record(z.string(), z.array(z.unknown())) }),
    input_order: z.strictObject({ required: z.array(z.string()) }),
    output: z.array(z.string()),
    output_is_list: z.array(z.boolean()),
    output_name: z.array(z.string()),
    name: z.string(),
    display_name: z.string(),
    description: z.string(),
    python_module: z.string(),
    category: z.string(),
    output_node: z.boolean(),
  }),
);

export const ComfySystemStats = z.strictObject({
  system: z.record(z.string(), z.unknown()),
  devices: z.array(z.unknown()),
});
