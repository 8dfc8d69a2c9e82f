// The /imagine reply while its job runs: the prompt, where the job is (queue position, then step
// i of N and about how long is left) and the latest preview frame. The frame is uploaded with the
// edit as an attachment and shown by the embed through `attachment://preview.webp` (discord-api-
// docs `reference.mdx`, "Uploading Files"): a data: URL is no image URL to Discord, and a frame is
// not worth an R2 object. The final message lists no attachments, which removes it (run-discord-
// job.ts), so only our permanent image URL stays.
import type { PreparedGeneration } from '../generation/prepare-generation.ts';
import type { MessageFile } from './discord-rest.ts';
import { EMBED_COLOUR, type MessageBody, TITLE_CHARS, truncate } from './image-message.ts';

export const PREVIEW_FILENAME = 'preview.webp';

/** What the gpu-worker has said of the job so far. */
export interface ProgressView {
  /** While queued: 1 = next to start. */
  queuePosition?: number;
  step?: number;
  steps?: number;
  etaMs?: number;
  /** The latest preview frame, WebP. */
  preview?: Uint8Array;
}

function status(view: ProgressView): string {
  if (view.step !== undefined && view.steps !== undefined) {
    const left = view.step > 0 && view.etaMs ? ` · about ${Math.ceil(view.etaMs / 1000)} s left` : '';
    return `⏳ Step ${view.step}/${view.steps}${left}`;
  }
  if (view.queuePosition !== undefined) {
    return view.queuePosition === 1
      ? '⏳ Queued: next to start'
      : `⏳ Queued: position ${view.queuePosition}`;
  }
  return '⏳ Starting…';
}

export function progressMessage(
  generation: PreparedGeneration,
  ownerId: string,
  view: ProgressView,
): { body: MessageBody; files: MessageFile[] } {
  const body: MessageBody = {
    content: `<@${ownerId}>`,
    embeds: [
      {
        title: truncate(generation.prompt.text, TITLE_CHARS),
        description: status(view),
        color: EMBED_COLOUR,
        ...(view.preview ? { image: { url: `attachment://${PREVIEW_FILENAME}` } } : {}),
        footer: { text: 'latent-edge · preview' },
      },
    ],
    components: [],
    allowed_mentions: { parse: [] },
  };
  // An edit keeps only the attachments it lists: the new frame (placeholder id 0 = files[0])
  // replaces the previous one, and none drops a frame left by an earlier attempt.
  if (!view.preview) return { body: { ...body, attachments: [] }, files: [] };
  return {
    body: { ...body, attachments: [{ id: 0, filename: PREVIEW_FILENAME }] },
    files: [{ name: PREVIEW_FILENAME, contentType: 'image/webp', bytes: view.preview }],
  };
}
