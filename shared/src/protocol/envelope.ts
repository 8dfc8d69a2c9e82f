// A compact binary-safe message: a JSON head plus named binary parts (images, embeddings, an init
// image), so nothing on the hot path is base64-encoded. Layout:
//   u32 (little-endian) head length | head JSON, UTF-8 | parts, back to back
// The head carries `parts: { name: [offset, length] }`, offsets counted from the first part byte.

export const ENVELOPE_CONTENT_TYPE = 'application/vnd.latent-edge.envelope';

export class EnvelopeError extends Error {
  override name = 'EnvelopeError';
}

export interface Envelope<T = unknown> {
  head: T;
  parts: Record<string, Uint8Array>;
}

export function encodeEnvelope(head: object, parts: Record<string, Uint8Array> = {}): Uint8Array {
  const index: Record<string, [number, number]> = {};
  let offset = 0;
  for (const [name, bytes] of Object.entries(parts)) {
    index[name] = [offset, bytes.length];
    offset += bytes.length;
  }
  const headBytes = new TextEncoder().encode(JSON.stringify({ ...head, parts: index }));
  const out = new Uint8Array(4 + headBytes.length + offset);
  new DataView(out.buffer).setUint32(0, headBytes.length, true);
  out.set(headBytes, 4);
  let at = 4 + headBytes.length;
  for (const bytes of Object.values(parts)) {
    out.set(bytes, at);
    at += bytes.length;
  }
  return out;
}

/** Splits an envelope; parts are views into `bytes`. Throws EnvelopeError on anything malformed. */
export function decodeEnvelope(bytes: Uint8Array): Envelope {
  if (bytes.length < 4) throw new EnvelopeError('envelope shorter than its 4-byte header');
  const headLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, true);
  if (4 + headLength > bytes.length) throw new EnvelopeError('envelope head runs past the end');
  let head: { parts?: unknown } & Record<string, unknown>;
  try {
    head = JSON.parse(
      new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes.subarray(4, 4 + headLength)),
    );
  } catch {
    throw new EnvelopeError('envelope head is not JSON');
  }
  if (!head || typeof head !== 'object' || Array.isArray(head))
    throw new EnvelopeError('envelope head is not an object');
  const body = bytes.subarray(4 + headLength);
  const parts: Record<string, Uint8Array> = {};
  const index = head.parts ?? {};
  if (typeof index !== 'object' || index === null)
    throw new EnvelopeError('envelope parts index is not an object');
  for (const [name, range] of Object.entries(index)) {
    const [offset, length] = Array.isArray(range) ? range : [];
    if (
      !Number.isInteger(offset) ||
      !Number.isInteger(length) ||
      offset < 0 ||
      length < 0 ||
      offset + length > body.length
    ) {
      throw new EnvelopeError(`envelope part "${name}" is out of bounds`);
    }
    parts[name] = body.subarray(offset, offset + length);
  }
  const { parts: _index, ...rest } = head;
  return { head: rest, parts };
}

/** A float32 array as little-endian bytes (a view when the platform is little-endian, as all ours are). */
export function float32Bytes(values: Float32Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

/** Little-endian bytes as a Float32Array (copied when unaligned). */
export function bytesToFloat32(bytes: Uint8Array): Float32Array {
  if (bytes.length % 4 !== 0) throw new EnvelopeError('float32 part length is not a multiple of 4');
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  return new Float32Array(aligned.buffer, aligned.byteOffset, aligned.length / 4);
}
