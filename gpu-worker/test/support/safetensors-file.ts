// Safetensors files written by the format's description (huggingface/safetensors "Format": an
// 8-byte little-endian header length, the JSON header, the tensors' bytes in header order), for
// tests that need LoRA files without a Python safetensors package.

export interface TensorSpec {
  shape: number[];
  values: ArrayLike<number>;
}

export function safetensorsBytes(
  tensors: Record<string, TensorSpec>,
  metadata?: Record<string, string>,
): Uint8Array {
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + 4 * t.values.length] };
    offset += 4 * t.values.length;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const t of Object.values(tensors)) {
    for (let i = 0; i < t.values.length; i++, at += 4) view.setFloat32(at, t.values[i], true);
  }
  return out;
}
