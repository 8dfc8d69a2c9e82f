// The edge's side of the edge → gpu-worker call, shared so tests and tools speak it the same way:
// put a job and its binary parts in an envelope, sign the exact bytes, send, and read the result
// envelope back (or the worker's JSON error).
import { signRequest } from '../crypto/request-signing.ts';
import { bytesToFloat32, decodeEnvelope, ENVELOPE_CONTENT_TYPE, encodeEnvelope } from './envelope.ts';
import { GpuResult } from './gpu-job.ts';

export interface GpuImage {
  seed: number;
  bytes: Uint8Array;
  contentType: string;
  width: number;
  height: number;
}

export interface GpuResponse {
  result: GpuResult;
  images: GpuImage[];
  promptEmbedding?: Float32Array;
  negativeEmbedding?: Float32Array;
}

/** A non-2xx answer from a worker, with its JSON error when it sent one. */
export class GpuWorkerError extends Error {
  override name = 'GpuWorkerError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfterSeconds?: number,
    /** The request field the worker blamed, when it named one. */
    readonly field?: string,
  ) {
    super(message);
  }
}

export async function signedJobRequest(
  url: string,
  secret: string,
  job: object,
  parts: Record<string, Uint8Array> = {},
  init: RequestInit = {},
): Promise<Request> {
  const body = encodeEnvelope(job, parts);
  const headers = new Headers(init.headers);
  for (const [name, value] of Object.entries(await signRequest(secret, body))) headers.set(name, value);
  headers.set('Content-Type', ENVELOPE_CONTENT_TYPE);
  return new Request(url, { ...init, method: 'POST', body: body as Uint8Array<ArrayBuffer>, headers });
}

export async function readGpuResponse(response: Response): Promise<GpuResponse> {
  if (!response.ok) {
    let code = 'upstream_error';
    let message = `gpu-worker answered ${response.status}`;
    let field: string | undefined;
    try {
      const body = (await response.json()) as { error?: { code?: string; message?: string; field?: string } };
      code = body.error?.code ?? code;
      message = body.error?.message ?? message;
      field = body.error?.field;
    } catch {
      // Not JSON: keep the status line.
    }
    const retryAfter = Number(response.headers.get('Retry-After'));
    throw new GpuWorkerError(
      response.status,
      code,
      message,
      Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
      field,
    );
  }
  return decodeGpuResult(new Uint8Array(await response.arrayBuffer()));
}

/** A result envelope's images and embeddings (the answer to /v1/generate, or a pulled job's result). */
export function decodeGpuResult(bytes: Uint8Array): GpuResponse {
  const { head, parts } = decodeEnvelope(bytes);
  const result = GpuResult.parse(head);
  const images = result.images.map((image) => ({
    seed: image.seed,
    bytes: parts[image.part],
    contentType: image.content_type,
    width: image.width,
    height: image.height,
  }));
  const embedding = (name?: string) => (name && parts[name] ? bytesToFloat32(parts[name]) : undefined);
  return {
    result,
    images,
    promptEmbedding: embedding(result.embeddings?.prompt.part),
    negativeEmbedding: embedding(result.embeddings?.negative_prompt.part),
  };
}
