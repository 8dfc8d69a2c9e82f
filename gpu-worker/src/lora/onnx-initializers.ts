// Where each weight of an ONNX model lives, byte for byte: the graph's initializers (their name,
// dims, element type and the byte range of their data, inside model.onnx as `raw_data` or in an
// external data file) and its nodes (op type, name, inputs), read by walking the protobuf wire
// format. A LoRA merge writes new weights into a copy of those bytes at those ranges, so the
// session is created from the same graph with other numbers (SD-NOTES, "LoRA on
// onnxruntime-node"). A protobuf library would decode the messages but not say where their bytes
// are; the walk needs only the few fields below (onnx/onnx.proto3).

export class OnnxFormatError extends Error {
  override name = 'OnnxFormatError';
}

/** Field numbers from onnx.proto3. */
const MODEL_GRAPH = 7;
const GRAPH_NODE = 1;
const GRAPH_INITIALIZER = 5;
const NODE_INPUT = 1;
const NODE_NAME = 3;
const NODE_OP_TYPE = 4;
const TENSOR_DIMS = 1;
const TENSOR_DATA_TYPE = 2;
const TENSOR_NAME = 8;
const TENSOR_RAW_DATA = 9;
const TENSOR_EXTERNAL_DATA = 13;
const TENSOR_DATA_LOCATION = 14;
const ENTRY_KEY = 1;
const ENTRY_VALUE = 2;

/** TensorProto.DataType values a weight can have, and their byte widths. */
export const ONNX_FLOAT = 1;
export const ONNX_FLOAT16 = 10;
const ELEMENT_BYTES: Record<number, number> = { 1: 4, 10: 2, 11: 8, 16: 2 };

export type InitializerData =
  | { location: 'raw'; offset: number; length: number }
  | { location: 'external'; file: string; offset: number; length: number }
  /** Stored in a typed field (float_data, …) or not at all: not patchable in place. */
  | { location: 'other' };

/** Where a length-delimited field sits: its key's first byte, and its payload. */
export interface FieldRange {
  keyStart: number;
  start: number;
  end: number;
}

export interface OnnxInitializer {
  name: string;
  dims: number[];
  dataType: number;
  data: InitializerData;
  /** The TensorProto inside the graph, so it can be replaced whole (onnx-rewrite.ts). */
  field: FieldRange;
}

export interface OnnxNode {
  opType: string;
  name: string;
  inputs: string[];
}

export interface OnnxGraphLayout {
  initializers: Map<string, OnnxInitializer>;
  nodes: OnnxNode[];
  /** The GraphProto inside the ModelProto. */
  graph?: FieldRange;
}

interface Field {
  number: number;
  wireType: number;
  /** Where the field's key starts. */
  keyStart: number;
  /** Varint value (wire type 0). */
  value: number;
  /** Payload range (wire type 2). */
  start: number;
  end: number;
}

/** Protobuf wire format: one message's fields, in order, as offsets into `bytes`. */
function* fields(bytes: Uint8Array, start: number, end: number): Generator<Field> {
  let at = start;
  const varint = (): number => {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (at >= end) throw new OnnxFormatError(`truncated varint at byte ${at}`);
      const byte = bytes[at++];
      result += (byte & 0x7f) * scale;
      if (byte < 0x80) return result;
      scale *= 128;
    }
    throw new OnnxFormatError(`varint longer than 10 bytes at byte ${at}`);
  };
  while (at < end) {
    const keyStart = at;
    const key = varint();
    const number = Math.floor(key / 8);
    const wireType = key % 8;
    if (wireType === 0) {
      const value = varint();
      yield { number, wireType, keyStart, value, start: at, end: at };
    } else if (wireType === 2) {
      const length = varint();
      if (at + length > end) throw new OnnxFormatError(`field ${number} runs past its message at byte ${at}`);
      yield { number, wireType, keyStart, value: length, start: at, end: at + length };
      at += length;
    } else if (wireType === 1 || wireType === 5) {
      at += wireType === 1 ? 8 : 4;
      if (at > end) throw new OnnxFormatError(`field ${number} runs past its message`);
    } else {
      throw new OnnxFormatError(`unsupported protobuf wire type ${wireType} at byte ${at}`);
    }
  }
}

const text = (bytes: Uint8Array, f: Field) => new TextDecoder().decode(bytes.subarray(f.start, f.end));

/** A repeated int64 field such as dims: one varint, or a packed run of them. */
function varints(bytes: Uint8Array, f: Field): number[] {
  if (f.wireType === 0) return [f.value];
  const out: number[] = [];
  let value = 0;
  let scale = 1;
  for (let i = f.start; i < f.end; i++) {
    value += (bytes[i] & 0x7f) * scale;
    scale *= 128;
    if (bytes[i] < 0x80) {
      out.push(value);
      value = 0;
      scale = 1;
    }
  }
  return out;
}

function readTensor(bytes: Uint8Array, field: FieldRange): OnnxInitializer {
  const { start, end } = field;
  let name = '';
  const dims: number[] = [];
  let dataType = 0;
  let raw: Field | undefined;
  let external = false;
  const entries: Record<string, string> = {};
  for (const f of fields(bytes, start, end)) {
    if (f.number === TENSOR_NAME) name = text(bytes, f);
    else if (f.number === TENSOR_DIMS) dims.push(...varints(bytes, f));
    else if (f.number === TENSOR_DATA_TYPE) dataType = f.value;
    else if (f.number === TENSOR_RAW_DATA) raw = f;
    else if (f.number === TENSOR_DATA_LOCATION) external = f.value === 1;
    else if (f.number === TENSOR_EXTERNAL_DATA) {
      let key = '';
      let value = '';
      for (const e of fields(bytes, f.start, f.end)) {
        if (e.number === ENTRY_KEY) key = text(bytes, e);
        else if (e.number === ENTRY_VALUE) value = text(bytes, e);
      }
      entries[key] = value;
    }
  }
  let data: InitializerData = { location: 'other' };
  if (external) {
    const count = dims.reduce((a, b) => a * b, 1);
    const length =
      entries.length !== undefined ? Number(entries.length) : count * (ELEMENT_BYTES[dataType] ?? 0);
    data = {
      location: 'external',
      file: entries.location ?? '',
      offset: Number(entries.offset ?? 0),
      length,
    };
  } else if (raw) {
    data = { location: 'raw', offset: raw.start, length: raw.end - raw.start };
  }
  return { name, dims, dataType, data, field };
}

function readNode(bytes: Uint8Array, start: number, end: number): OnnxNode {
  const node: OnnxNode = { opType: '', name: '', inputs: [] };
  for (const f of fields(bytes, start, end)) {
    if (f.number === NODE_INPUT) node.inputs.push(text(bytes, f));
    else if (f.number === NODE_NAME) node.name = text(bytes, f);
    else if (f.number === NODE_OP_TYPE) node.opType = text(bytes, f);
  }
  return node;
}

/** The initializers and nodes of a serialized ModelProto's main graph. */
/** The external data files the graph's initializers name (none for a graph under 2 GB). */
export function externalFilesOf(layout: OnnxGraphLayout): string[] {
  const files = new Set<string>();
  for (const init of layout.initializers.values()) {
    if (init.data.location === 'external') files.add(init.data.file);
  }
  return [...files];
}

export function readGraphLayout(model: Uint8Array): OnnxGraphLayout {
  const initializers = new Map<string, OnnxInitializer>();
  const nodes: OnnxNode[] = [];
  let graphs = 0;
  let graph: FieldRange | undefined;
  for (const m of fields(model, 0, model.byteLength)) {
    if (m.number !== MODEL_GRAPH || m.wireType !== 2) continue;
    graphs++;
    graph = { keyStart: m.keyStart, start: m.start, end: m.end };
    for (const g of fields(model, m.start, m.end)) {
      if (g.wireType !== 2) continue;
      if (g.number === GRAPH_INITIALIZER) {
        const tensor = readTensor(model, { keyStart: g.keyStart, start: g.start, end: g.end });
        initializers.set(tensor.name, tensor);
      } else if (g.number === GRAPH_NODE) nodes.push(readNode(model, g.start, g.end));
    }
  }
  if (graphs !== 1) throw new OnnxFormatError(`expected one graph in the model, found ${graphs}`);
  return { initializers, nodes, graph };
}
