// The safetensors format (huggingface/safetensors, docs "Format"): an 8-byte little-endian header
// length N, N bytes of JSON (`{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__":
// {string: string}}`, possibly padded with spaces), then the tensors' little-endian bytes, offsets
// relative to the end of the header. No maintained npm reader exists (the `safetensors` package is
// a 0.0.1 placeholder), and the format is this small, so it is read here with every rule the
// reference implementation enforces: header size bound, offsets in range, contiguous and not
// overlapping, byte counts that match dtype × shape.
import { fromFloat16Bits } from '../model/float16.ts';

export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
}

/** The reference implementation's bound (safetensors `MAX_HEADER_SIZE`): 100 MB of JSON. */
const MAX_HEADER_BYTES = 100_000_000;

const DTYPE_BYTES: Record<string, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

export interface SafetensorsTensor {
  dtype: string;
  shape: number[];
  /** The tensor's bytes, a view into the file's buffer. */
  bytes: Uint8Array;
}

export interface SafetensorsFile {
  metadata: Record<string, string>;
  tensors: Map<string, SafetensorsTensor>;
}

function fail(what: string, message: string): never {
  throw new SafetensorsError(`${what}: ${message}`);
}

function parseHeader(bytes: Uint8Array, what: string): Record<string, unknown> {
  if (bytes.byteLength < 8) fail(what, `${bytes.byteLength} bytes is too short for a safetensors file`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = view.getBigUint64(0, true);
  if (length > BigInt(MAX_HEADER_BYTES)) fail(what, `header of ${length} bytes exceeds ${MAX_HEADER_BYTES}`);
  const end = 8 + Number(length);
  if (end > bytes.byteLength) fail(what, `header of ${length} bytes runs past the end of the file`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, end)));
  } catch (error) {
    fail(what, `header is not UTF-8 JSON (${(error as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    fail(what, 'header is not a JSON object');
  }
  return header as Record<string, unknown>;
}

function readMetadata(value: unknown, what: string): Record<string, string> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail(what, '__metadata__ is not an object');
  }
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== 'string') fail(what, `__metadata__.${key} is not a string`);
  }
  return value as Record<string, string>;
}

/** Reads a whole safetensors file held in memory; `what` (its path or name) begins every error. */
export function readSafetensors(bytes: Uint8Array, what = 'safetensors file'): SafetensorsFile {
  const header = parseHeader(bytes, what);
  const dataStart = 8 + Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const dataLength = bytes.byteLength - dataStart;
  const entries: [string, SafetensorsTensor, number, number][] = [];
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const { dtype, shape, data_offsets: offsets } = (info ?? {}) as Record<string, unknown>;
    if (typeof dtype !== 'string' || !(dtype in DTYPE_BYTES)) {
      fail(
        what,
        `tensor "${name}" has dtype ${JSON.stringify(dtype)}, not one of ${Object.keys(DTYPE_BYTES).join(', ')}`,
      );
    }
    const isCount = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 0;
    if (!Array.isArray(shape) || !shape.every(isCount)) fail(what, `tensor "${name}" has no valid shape`);
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every(isCount) ||
      offsets[0] > offsets[1]
    ) {
      fail(what, `tensor "${name}" has no valid data_offsets`);
    }
    const [begin, end] = offsets as [number, number];
    const expected = (shape as number[]).reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype];
    if (end - begin !== expected) {
      fail(
        what,
        `tensor "${name}" (${dtype} [${shape.join(', ')}]) needs ${expected} bytes, its offsets give ${end - begin}`,
      );
    }
    if (end > dataLength) fail(what, `tensor "${name}" ends at byte ${end}, past the data's ${dataLength}`);
    const tensor = {
      dtype,
      shape: shape as number[],
      bytes: bytes.subarray(dataStart + begin, dataStart + end),
    };
    entries.push([name, tensor, begin, end]);
  }
  // As the reference reader: the tensors tile the data exactly, with no gap and no overlap.
  entries.sort((a, b) => a[2] - b[2] || a[3] - b[3]);
  let next = 0;
  for (const [name, , begin, end] of entries) {
    if (begin !== next)
      fail(what, `tensor "${name}" starts at byte ${begin}, expected ${next} (a gap or an overlap)`);
    next = end;
  }
  if (next !== dataLength) fail(what, `${dataLength - next} bytes after the last tensor belong to none`);
  return {
    metadata: readMetadata(header.__metadata__, what),
    tensors: new Map(entries.map(([name, tensor]) => [name, tensor])),
  };
}

/** A floating-point tensor's values as float32 (F16 and BF16 widened exactly, F64 rounded). */
export function tensorToFloat32(tensor: SafetensorsTensor, name = 'tensor'): Float32Array {
  const { bytes, dtype } = tensor;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = bytes.byteLength / DTYPE_BYTES[dtype];
  const out = new Float32Array(count);
  if (dtype === 'F32') for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
  else if (dtype === 'F16')
    for (let i = 0; i < count; i++) out[i] = fromFloat16Bits(view.getUint16(2 * i, true));
  else if (dtype === 'BF16') {
    // bfloat16 is the top half of a float32: shift its bits into place.
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < count; i++) bits[i] = view.getUint16(2 * i, true) << 16;
  } else if (dtype === 'F64') for (let i = 0; i < count; i++) out[i] = view.getFloat64(8 * i, true);
  else throw new SafetensorsError(`${name} is ${dtype}, not a floating-point tensor`);
  return out;
}
