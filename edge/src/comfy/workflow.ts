// The body of POST /prompt: a workflow in ComfyUI's API format (each node by id, its class_type
// and inputs; an input is a widget value or a link `[node id, output slot]`) and the client id
// whose websocket hears its progress. Other fields ComfyUI takes (extra_data, front, number) are
// accepted and ignored, as ComfyUI ignores what it does not know.
import { z } from 'zod';

/** Nodes in one workflow: the standard graphs have about ten. */
export const MAX_NODES = 200;

export const ComfyNode = z.looseObject({
  class_type: z.string().min(1).max(200),
  inputs: z.record(z.string().max(200), z.unknown()).default({}),
});

export type ComfyNode = z.infer<typeof ComfyNode>;

export const PromptRequest = z.looseObject({
  prompt: z
    .record(z.string().min(1).max(100), ComfyNode)
    .refine((nodes) => Object.keys(nodes).length <= MAX_NODES, { error: `at most ${MAX_NODES} nodes` }),
  client_id: z.string().max(200).optional(),
  extra_data: z.looseObject({}).optional(),
});

export type Workflow = Record<string, ComfyNode>;

/** A link input: `[node id, output slot]` (ComfyUI writes ids as strings, some tools as numbers). */
export function asLink(value: unknown): { node: string; slot: number } | undefined {
  if (!Array.isArray(value) || value.length !== 2) return undefined;
  const [node, slot] = value;
  if ((typeof node !== 'string' && typeof node !== 'number') || !Number.isInteger(slot) || slot < 0) {
    return undefined;
  }
  return { node: String(node), slot };
}
