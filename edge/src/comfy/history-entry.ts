// One workflow run as the ComfyHub keeps it, and the shapes ComfyUI's server.py answers with:
// GET /queue's `[number, prompt_id, prompt, extra_data, outputs_to_execute]` items and GET
// /history's `{prompt, outputs, status, meta}` (kept only once a run has ended, as in ComfyUI).
import type { Workflow } from './workflow.ts';

export type RunStatus = 'pending' | 'running' | 'success' | 'error' | 'interrupted';

/** An image of a finished run, as /view is asked for it. */
export interface OutputImage {
  filename: string;
  subfolder: string;
  type: 'output';
}

export interface HistoryEntry {
  number: number;
  prompt_id: string;
  workflow: Workflow;
  client_id?: string;
  output_node: string;
  sampler_node: string;
  status: RunStatus;
  images: OutputImage[];
  /** ComfyUI's status.messages: [event type, data] in the order they were sent. */
  messages: [string, Record<string, unknown>][];
}

export function queueItem(entry: HistoryEntry) {
  return [
    entry.number,
    entry.prompt_id,
    entry.workflow,
    entry.client_id ? { client_id: entry.client_id } : {},
    [entry.output_node],
  ];
}

const STATUS_STR: Partial<Record<RunStatus, string>> = {
  success: 'success',
  error: 'error',
  interrupted: 'error',
};

export function historyView(entry: HistoryEntry) {
  const node = entry.output_node;
  return {
    prompt: queueItem(entry),
    outputs: entry.images.length > 0 ? { [node]: { images: entry.images } } : {},
    status: {
      status_str: STATUS_STR[entry.status] ?? entry.status,
      completed: entry.status === 'success',
      messages: entry.messages,
    },
    meta: {
      [node]: { node_id: node, display_node: node, parent_node: null, real_node_id: node },
    },
  };
}
