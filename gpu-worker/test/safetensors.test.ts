// The safetensors reader against files written here by the format's own description (an 8-byte
// little-endian header length, the JSON header, the data), with known bit patterns for the
// half-precision types: 1 is 0x3C00 in F16 and 0x3F80 in BF16, -2 is 0xC000 in both, 0.5 is
// 0x3800 / 0x3F00 (IEEE 754-2008 binary16; bfloat16 = float32's top 16 bits).
import { describe, expect, it } from 'vitest';
import { readSafetensors, SafetensorsError, tensorToFloat32 } from '../src/lora/safetensors.ts';

/** A file from a header object and the data bytes, the header padded with spaces to `pad` bytes. */
function file(header: Record<string, unknown>, data: Uint8Array, pad = 0): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header).padEnd(pad, ' '));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function littleEndian(type: 'u16' | 'f32', values: number[]): Uint8Array {
  const size = type === 'u16' ? 2 : 4;
  const view = new DataView(new ArrayBuffer(values.length * size));
  for (const [i, v] of values.entries()) {
    if (type === 'u16') view.setUint16(i * 2, v, true);
    else view.setFloat32(i * 4, v, true);
  }
  return new Uint8Array(view.buffer);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

describe('readSafetensors', () => {
  it('reads shapes, metadata and F32, F16 and BF16 values, with a space-padded header', () => {
    const f32 = littleEndian('f32', [1.5, -0.25, 3, 4, 5, 6]);
    const f16 = littleEndian('u16', [0x3c00, 0xc000, 0x3800]);
    const bf16 = littleEndian('u16', [0x3f80, 0xc000, 0x3f00]);
    const bytes = file(
      {
        __metadata__: { ss_network_dim: '4', format: 'pt' },
        'a.weight': { dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] },
        'b.half': { dtype: 'F16', shape: [3], data_offsets: [24, 30] },
        'c.brain': { dtype: 'BF16', shape: [1, 3], data_offsets: [30, 36] },
      },
      concat(f32, f16, bf16),
      200,
    );
    const { metadata, tensors } = readSafetensors(bytes);
    expect(metadata).toEqual({ ss_network_dim: '4', format: 'pt' });
    expect([...tensors.keys()]).toEqual(['a.weight', 'b.half', 'c.brain']);
    expect(tensors.get('a.weight')?.shape).toEqual([2, 3]);
    expect([...tensorToFloat32(tensors.get('a.weight') as never)]).toEqual([1.5, -0.25, 3, 4, 5, 6]);
    expect([...tensorToFloat32(tensors.get('b.half') as never)]).toEqual([1, -2, 0.5]);
    expect([...tensorToFloat32(tensors.get('c.brain') as never)]).toEqual([1, -2, 0.5]);
  });

  it('reads tensors whose header order differs from their data order, and a file with none', () => {
    const bytes = file(
      {
        second: { dtype: 'F32', shape: [1], data_offsets: [4, 8] },
        first: { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
      },
      littleEndian('f32', [7, 8]),
    );
    const { tensors } = readSafetensors(bytes);
    expect(tensorToFloat32(tensors.get('first') as never)[0]).toBe(7);
    expect(tensorToFloat32(tensors.get('second') as never)[0]).toBe(8);
    expect(readSafetensors(file({}, new Uint8Array())).tensors.size).toBe(0);
  });

  const one = (info: Record<string, unknown>, data = littleEndian('f32', [1, 2])) => file({ t: info }, data);
  const cases: [string, Uint8Array, RegExp][] = [
    ['a file shorter than the length field', new Uint8Array(5), /too short/],
    [
      'a header length past the end',
      (() => {
        const b = new Uint8Array(16);
        new DataView(b.buffer).setBigUint64(0, 100n, true);
        return b;
      })(),
      /runs past the end/,
    ],
    [
      'a header length over 100 MB',
      (() => {
        const b = new Uint8Array(16);
        new DataView(b.buffer).setBigUint64(0, 2n ** 40n, true);
        return b;
      })(),
      /exceeds 100000000/,
    ],
    [
      'a header that is not JSON',
      concat(littleEndian('u16', [3, 0, 0, 0]), new TextEncoder().encode('{x}')),
      /not UTF-8 JSON/,
    ],
    ['a header that is a JSON array', file([] as never, new Uint8Array()), /not a JSON object/],
    ['an unknown dtype', one({ dtype: 'F8_E9', shape: [2], data_offsets: [0, 8] }), /dtype "F8_E9"/],
    ['a negative dimension', one({ dtype: 'F32', shape: [-2], data_offsets: [0, 8] }), /no valid shape/],
    [
      'offsets the wrong way round',
      one({ dtype: 'F32', shape: [2], data_offsets: [8, 0] }),
      /no valid data_offsets/,
    ],
    [
      'a byte count that does not match the shape',
      one({ dtype: 'F32', shape: [3], data_offsets: [0, 8] }),
      /needs 12 bytes, its offsets give 8/,
    ],
    ['a tensor past the data', one({ dtype: 'F32', shape: [4], data_offsets: [0, 16] }), /past the data's 8/],
    [
      'a gap before a tensor',
      one({ dtype: 'F32', shape: [1], data_offsets: [4, 8] }),
      /starts at byte 4, expected 0/,
    ],
    [
      'bytes that belong to no tensor',
      one({ dtype: 'F32', shape: [1], data_offsets: [0, 4] }),
      /4 bytes after the last tensor/,
    ],
    [
      'overlapping tensors',
      file(
        {
          a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
          b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] },
        },
        littleEndian('f32', [1, 2]),
      ),
      /starts at byte 4, expected 8/,
    ],
    [
      'metadata that is not strings',
      file({ __metadata__: { dim: 4 } }, new Uint8Array()),
      /__metadata__.dim is not a string/,
    ],
  ];
  it.each(cases)('refuses %s, naming the file', (_, bytes, message) => {
    expect(() => readSafetensors(bytes, 'loras/x.safetensors')).toThrow(SafetensorsError);
    expect(() => readSafetensors(bytes, 'loras/x.safetensors')).toThrow(/^loras\/x\.safetensors: /);
    expect(() => readSafetensors(bytes, 'loras/x.safetensors')).toThrow(message);
  });

  it('refuses to read an integer tensor as floats', () => {
    const { tensors } = readSafetensors(
      file({ i: { dtype: 'I32', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4)),
    );
    expect(() => tensorToFloat32(tensors.get('i') as never, 'i')).toThrow(
      /i is I32, not a floating-point tensor/,
    );
  });
});
