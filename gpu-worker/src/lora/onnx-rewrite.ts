// One initializer of a serialized ONNX model replaced by a new tensor of another shape, the rest
// of the bytes kept as they are: the TensorProto is written anew (name, dims, data type, data in
// `raw_data`, so a tensor that was in an external file comes inline), and the lengths of the
// GraphProto and of the ModelProto field that hold it are rewritten. This is how textual-inversion
// embeddings become extra rows of a text encoder's token-embedding matrix.
import { OnnxFormatError, type OnnxGraphLayout } from './onnx-initializers.ts';

const WIRE_VARINT = 0;
const WIRE_BYTES = 2;
const MODEL_GRAPH = 7;
const GRAPH_INITIALIZER = 5;
const TENSOR_DIMS = 1;
const TENSOR_DATA_TYPE = 2;
const TENSOR_NAME = 8;
const TENSOR_RAW_DATA = 9;

/** Protobuf varint of a non-negative integer up to 2^53 (bytes past 2^31 need no bit operators). */
function varint(value: number): number[] {
  const out: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    out.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  out.push(rest);
  return out;
}

const key = (field: number, wire: number) => varint(field * 8 + wire);

function concat(parts: (Uint8Array | number[])[]): Uint8Array {
  return Buffer.concat(parts.map((part) => (part instanceof Uint8Array ? part : Uint8Array.from(part))));
}

function bytesField(field: number, payload: Uint8Array): Uint8Array {
  return concat([key(field, WIRE_BYTES), varint(payload.length), payload]);
}

export function replaceInitializer(
  model: Uint8Array,
  layout: OnnxGraphLayout,
  name: string,
  dims: readonly number[],
  raw: Uint8Array,
): Uint8Array {
  const old = layout.initializers.get(name);
  if (!old || !layout.graph) throw new OnnxFormatError(`the graph has no initializer ${name}`);
  const packedDims = concat(dims.map(varint));
  const tensor = concat([
    bytesField(TENSOR_DIMS, packedDims),
    key(TENSOR_DATA_TYPE, WIRE_VARINT),
    varint(old.dataType),
    bytesField(TENSOR_NAME, new TextEncoder().encode(name)),
    bytesField(TENSOR_RAW_DATA, raw),
  ]);
  const { graph } = layout;
  const graphPayload = concat([
    model.subarray(graph.start, old.field.keyStart),
    bytesField(GRAPH_INITIALIZER, tensor),
    model.subarray(old.field.end, graph.end),
  ]);
  return concat([
    model.subarray(0, graph.keyStart),
    bytesField(MODEL_GRAPH, graphPayload),
    model.subarray(graph.end),
  ]);
}
