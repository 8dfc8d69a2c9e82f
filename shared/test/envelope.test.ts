import { describe, expect, it } from 'vitest';
import {
  bytesToFloat32,
  decodeEnvelope,
  EnvelopeError,
  encodeEnvelope,
  float32Bytes,
} from '../src/protocol/envelope.ts';

describe('envelope', () => {
  it('round-trips a head and binary parts byte for byte', () => {
    const image = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 255]);
    const embedding = new Float32Array([1.5, -2.25, Math.PI]);
    const bytes = encodeEnvelope({ job_id: 'x', n: 2 }, { image, embedding: float32Bytes(embedding) });
    const { head, parts } = decodeEnvelope(bytes);
    expect(head).toEqual({ job_id: 'x', n: 2 });
    expect([...parts.image]).toEqual([...image]);
    expect([...bytesToFloat32(parts.embedding)]).toEqual([...embedding]);
  });

  it('rejects truncated and malformed input', () => {
    const bytes = encodeEnvelope({ a: 1 }, { p: new Uint8Array(10) });
    expect(() => decodeEnvelope(bytes.subarray(0, 2))).toThrow(EnvelopeError);
    expect(() => decodeEnvelope(bytes.subarray(0, bytes.length - 1))).toThrow(/out of bounds/);
    const notJson = new Uint8Array([3, 0, 0, 0, 0x7b, 0x7b, 0x7b]);
    expect(() => decodeEnvelope(notJson)).toThrow(/not JSON/);
    const hugeHead = new Uint8Array([0xff, 0xff, 0xff, 0x7f, 0x7b]);
    expect(() => decodeEnvelope(hugeHead)).toThrow(/past the end/);
  });
});
