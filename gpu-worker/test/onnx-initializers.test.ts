// Locating weights in ONNX files, checked two independent ways: the scalar-timestep fixture's UNet
// and the external-data fixture (the same graph re-saved by the onnx Python package with every
// initializer in model.onnx_data, infra/model/external_data.py) must give the same names, dims
// and bytes; and a weight rewritten at its located range changes what onnxruntime computes by
// exactly the change (conv_out's bias + 0.5 shifts every output value by 0.5).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { ONNX_FLOAT, OnnxFormatError, readGraphLayout } from '../src/lora/onnx-initializers.ts';

const FIXTURES = join(import.meta.dirname, 'fixtures/models');
const embeddedPath = join(FIXTURES, 'scalar-timestep/unet/model.onnx');
const externalDir = join(FIXTURES, 'external-data/unet');

function bytesOf(model: Uint8Array, name: string, dataFile?: Uint8Array): Uint8Array {
  const init = readGraphLayout(model).initializers.get(name);
  if (!init) throw new Error(`no initializer ${name}`);
  const { data } = init;
  if (data.location === 'raw') return model.subarray(data.offset, data.offset + data.length);
  if (data.location === 'external' && dataFile)
    return dataFile.subarray(data.offset, data.offset + data.length);
  throw new Error(`${name}: data is ${data.location}`);
}

describe('readGraphLayout', () => {
  const embedded = new Uint8Array(readFileSync(embeddedPath));
  const external = new Uint8Array(readFileSync(join(externalDir, 'model.onnx')));
  const externalData = new Uint8Array(readFileSync(join(externalDir, 'model.onnx_data')));

  it('finds every initializer in place and in the external data file, with the same bytes', () => {
    const a = readGraphLayout(embedded);
    const b = readGraphLayout(external);
    expect(a.initializers.size).toBeGreaterThan(100);
    expect([...b.initializers.keys()].sort()).toEqual([...a.initializers.keys()].sort());
    for (const [name, init] of a.initializers) {
      const other = b.initializers.get(name);
      expect(other?.dims, name).toEqual(init.dims);
      expect(other?.dataType, name).toBe(init.dataType);
      expect(init.data.location, name).toBe('raw');
      expect(other?.data).toMatchObject({ location: 'external', file: 'model.onnx_data' });
      expect(
        Buffer.from(bytesOf(external, name, externalData)).equals(Buffer.from(bytesOf(embedded, name))),
        name,
      ).toBe(true);
    }
    const bias = a.initializers.get('model.conv_out.bias');
    expect(bias).toMatchObject({ dims: [4], dataType: ONNX_FLOAT, data: { length: 16 } });
  });

  it('lists the nodes with their op types and inputs', () => {
    const { nodes } = readGraphLayout(embedded);
    const conv = nodes.find((n) => n.inputs.includes('model.conv_out.weight'));
    expect(conv?.opType).toBe('Conv');
    expect(conv?.inputs.slice(1)).toEqual(['model.conv_out.weight', 'model.conv_out.bias']);
    expect(nodes.filter((n) => n.opType === 'MatMul').length).toBeGreaterThan(10);
  });

  it('gives ranges that onnxruntime reads the weight from', async () => {
    const patched = new Uint8Array(embedded);
    const bias = bytesOf(patched, 'model.conv_out.bias');
    const values = new Float32Array(bias.slice().buffer);
    const shifted = new Uint8Array(values.map((v) => v + 0.5).buffer);
    bias.set(shifted);
    const feeds = {
      sample: new Tensor(
        'float32',
        Float32Array.from({ length: 4 * 8 * 8 }, (_, i) => Math.sin(i)),
        [1, 4, 8, 8],
      ),
      timestep: new Tensor('float32', Float32Array.of(500), []),
      encoder_hidden_states: new Tensor(
        'float32',
        Float32Array.from({ length: 77 * 4 }, (_, i) => Math.cos(i)),
        [1, 77, 4],
      ),
    };
    const run = async (model: Uint8Array) => {
      const session = await InferenceSession.create(model);
      try {
        const out = await session.run(feeds);
        return out[session.outputNames[0]].data as Float32Array;
      } finally {
        await session.release();
      }
    };
    const [before, after] = [await run(embedded), await run(patched)];
    expect(after.length).toBe(before.length);
    // float32 addition of 0.5: exact to within one rounding of values of order 1.
    for (let i = 0; i < before.length; i++) expect(after[i] - before[i]).toBeCloseTo(0.5, 5);
  });

  it('refuses bytes that are not a model', () => {
    expect(() => readGraphLayout(new TextEncoder().encode('not a model at all'))).toThrow(OnnxFormatError);
    expect(() => readGraphLayout(embedded.subarray(0, 1000))).toThrow(OnnxFormatError);
  });
});
