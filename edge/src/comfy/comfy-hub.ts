// One Durable Object per API key for the ComfyUI-compatible API: its queue and history (what
// GET /queue and /history show) and its /ws websockets, accepted with the hibernation API and
// tagged by clientId. The queue consumer reports each run's start, steps and end here, and the
// hub sends ComfyUI's websocket messages (server.py send_sync, execution.py) to the client that
// queued it: execution_start, execution_cached, executing, progress, executed, execution_success
// (or execution_error / execution_interrupted), and status, broadcast, whenever the queue changes.
import { DurableObject } from 'cloudflare:workers';
import { type HistoryEntry, historyView, type OutputImage, queueItem } from './history-entry.ts';
import type { Workflow } from './workflow.ts';

/** Finished runs kept per key (ComfyUI keeps 10000 in memory; ours are stored). */
const MAX_HISTORY = 200;

export type RunEnd =
  | { status: 'success'; images: OutputImage[] }
  | { status: 'error'; code: string; message: string }
  | { status: 'interrupted' };

export class ComfyHub extends DurableObject<Env> {
  private async entries(): Promise<HistoryEntry[]> {
    const stored = await this.ctx.storage.list<HistoryEntry>({ prefix: 'entry:' });
    return [...stored.values()].sort((a, b) => a.number - b.number);
  }

  private async entry(promptId: string): Promise<HistoryEntry | undefined> {
    return this.ctx.storage.get<HistoryEntry>(`entry:${promptId}`);
  }

  private send(clientId: string | undefined, type: string, data: Record<string, unknown>): void {
    const sockets = clientId ? this.ctx.getWebSockets(clientId) : this.ctx.getWebSockets();
    const text = JSON.stringify({ type, data });
    for (const socket of sockets) {
      try {
        socket.send(text);
      } catch {
        // A socket closing as we send: its client reconnects and asks GET /history.
      }
    }
  }

  private async queueRemaining(): Promise<number> {
    return (await this.entries()).filter((e) => e.status === 'pending' || e.status === 'running').length;
  }

  private async broadcastStatus(): Promise<void> {
    this.send(undefined, 'status', {
      status: { exec_info: { queue_remaining: await this.queueRemaining() } },
    });
  }

  /** A new run from POST /prompt; returns its number. */
  async enqueue(run: {
    prompt_id: string;
    workflow: Workflow;
    client_id?: string;
    output_node: string;
    sampler_node: string;
  }): Promise<number> {
    const number = ((await this.ctx.storage.get<number>('number')) ?? 0) + 1;
    const entry: HistoryEntry = { ...run, number, status: 'pending', images: [], messages: [] };
    await this.ctx.storage.put({ number, [`entry:${run.prompt_id}`]: entry });
    await this.broadcastStatus();
    return number;
  }

  private async update(entry: HistoryEntry, type: string, data: Record<string, unknown>, keep: boolean) {
    const message = { ...data, prompt_id: entry.prompt_id };
    if (keep) entry.messages.push([type, { ...message, timestamp: Date.now() }]);
    await this.ctx.storage.put(`entry:${entry.prompt_id}`, entry);
    this.send(entry.client_id, type, keep ? { ...message, timestamp: Date.now() } : message);
  }

  async started(promptId: string): Promise<void> {
    const entry = await this.entry(promptId);
    if (entry?.status !== 'pending') return;
    entry.status = 'running';
    await this.update(entry, 'execution_start', {}, true);
    await this.update(entry, 'execution_cached', { nodes: [] }, true);
    const node = entry.sampler_node;
    await this.update(entry, 'executing', { node, display_node: node }, false);
  }

  async progress(promptId: string, step: number, steps: number): Promise<void> {
    const entry = await this.entry(promptId);
    if (entry?.status !== 'running') return;
    this.send(entry.client_id, 'progress', {
      value: step,
      max: steps,
      prompt_id: promptId,
      node: entry.sampler_node,
    });
  }

  async finished(promptId: string, end: RunEnd): Promise<void> {
    const entry = await this.entry(promptId);
    if (!entry || (entry.status !== 'pending' && entry.status !== 'running')) return;
    const node = entry.output_node;
    entry.status = end.status;
    if (end.status === 'success') {
      // The history is complete before `executed` goes out, so a client that asks on hearing it
      // (or on the status after it) finds the outputs.
      entry.images = end.images;
      await this.update(entry, 'executing', { node, display_node: node }, false);
      await this.update(
        entry,
        'executed',
        { node, display_node: node, output: { images: end.images } },
        false,
      );
      await this.update(entry, 'execution_success', {}, true);
    } else if (end.status === 'error') {
      await this.update(
        entry,
        'execution_error',
        {
          node_id: entry.sampler_node,
          node_type: entry.workflow[entry.sampler_node]?.class_type ?? 'KSampler',
          executed: [],
          exception_message: end.message,
          exception_type: end.code,
          traceback: [],
          current_inputs: {},
          current_outputs: {},
        },
        true,
      );
    } else {
      await this.update(
        entry,
        'execution_interrupted',
        {
          node_id: entry.sampler_node,
          node_type: entry.workflow[entry.sampler_node]?.class_type,
          executed: [],
        },
        true,
      );
    }
    await this.update(entry, 'executing', { node: null }, false);
    await this.prune();
    await this.broadcastStatus();
  }

  private async prune(): Promise<void> {
    const done = (await this.entries()).filter((e) => e.status !== 'pending' && e.status !== 'running');
    const old = done.slice(0, Math.max(0, done.length - MAX_HISTORY));
    if (old.length > 0) await this.ctx.storage.delete(old.map((e) => `entry:${e.prompt_id}`));
  }

  // Not `queue`: the runtime reserves that name for the Queue consumer handler.
  async queueView() {
    const entries = await this.entries();
    return {
      queue_running: entries.filter((e) => e.status === 'running').map(queueItem),
      queue_pending: entries.filter((e) => e.status === 'pending').map(queueItem),
    };
  }

  /** Ids of the runs not yet ended, running first (for POST /interrupt). */
  async unfinished(): Promise<{ running: string[]; pending: string[] }> {
    const entries = await this.entries();
    const ids = (status: string) => entries.filter((e) => e.status === status).map((e) => e.prompt_id);
    return { running: ids('running'), pending: ids('pending') };
  }

  async execInfo(): Promise<{ exec_info: { queue_remaining: number } }> {
    return { exec_info: { queue_remaining: await this.queueRemaining() } };
  }

  /** Ended runs, newest last, at most `maxItems` of the newest (GET /history). */
  async history(promptId?: string, maxItems = MAX_HISTORY): Promise<Record<string, unknown>> {
    const ended = (e: HistoryEntry | undefined): e is HistoryEntry =>
      !!e && e.status !== 'pending' && e.status !== 'running';
    const chosen = promptId
      ? [await this.entry(promptId)].filter(ended)
      : (await this.entries()).filter(ended).slice(-maxItems);
    return Object.fromEntries(chosen.map((e) => [e.prompt_id, historyView(e)]));
  }

  /** GET /ws, authenticated by the route: a hibernatable websocket, told the queue at once. */
  override async fetch(request: Request): Promise<Response> {
    const clientId = new URL(request.url).searchParams.get('clientId') || crypto.randomUUID();
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1], [clientId.slice(0, 200)]);
    pair[1].send(JSON.stringify({ type: 'status', data: { status: await this.execInfo(), sid: clientId } }));
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  /** Clients send nothing ComfyUI acts on (the web UI's feature flags); ignore it. */
  override async webSocketMessage(): Promise<void> {}

  override async webSocketClose(socket: WebSocket, code: number): Promise<void> {
    try {
      socket.close(code === 1005 ? 1000 : code, 'closing');
    } catch {
      // Already closed.
    }
  }
}
