// Tracing PyTorch weights to ONNX initializers: names kept by the export, MatMul weights found by
// their node's module scope (as torch.onnx and Optimum name nodes), a declared weight_map.json
// first, wrapper attributes dropped; and on a real fixture, every conv weight found by name.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type OnnxGraphLayout,
  type OnnxInitializer,
  readGraphLayout,
} from '../src/lora/onnx-initializers.ts';
import { moduleKey, weightMap } from '../src/lora/weight-map.ts';

const init = (name: string, dims: number[]): [string, OnnxInitializer] => [
  name,
  {
    name,
    dims,
    dataType: 1,
    data: { location: 'raw', offset: 0, length: 0 },
    field: { keyStart: 0, start: 0, end: 0 },
  },
];

const layout: OnnxGraphLayout = {
  initializers: new Map([
    init('model.conv_in.weight', [8, 4, 3, 3]),
    init('model.conv_in.bias', [8]),
    init('onnx::MatMul_7', [8, 8]),
    init('onnx::MatMul_9', [8, 16]),
    init('onnx::Mul_3', [8, 1, 1]),
  ]),
  nodes: [
    {
      opType: 'MatMul',
      name: '/model/down_blocks.0/attentions.0/transformer_blocks.0/attn1/to_q/MatMul',
      inputs: ['t1', 'onnx::MatMul_7'],
    },
    { opType: 'MatMul', name: '', inputs: ['t2', 'onnx::MatMul_9'] },
    { opType: 'Mul', name: '/model/norm/Mul', inputs: ['t3', 'onnx::Mul_3'] },
  ],
};

describe('weightMap', () => {
  it('finds named weights as they are and scoped MatMul weights transposed, without the wrapper', () => {
    const map = weightMap(layout);
    expect(Object.fromEntries(map)).toEqual({
      conv_in: { param: 'conv_in.weight', initializer: 'model.conv_in.weight', transposed: false },
      down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q: {
        param: 'down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.weight',
        initializer: 'onnx::MatMul_7',
        transposed: true,
      },
    });
  });

  it('takes a declared weight_map.json first, and ignores entries naming no initializer', () => {
    const map = weightMap(layout, {
      'unet.mid_block.attentions.0.proj_out.weight': { initializer: 'onnx::MatMul_9', transposed: true },
      'down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.weight': {
        initializer: 'onnx::MatMul_404',
        transposed: true,
      },
    });
    expect(map.get('mid_block_attentions_0_proj_out')).toEqual({
      param: 'mid_block.attentions.0.proj_out.weight',
      initializer: 'onnx::MatMul_9',
      transposed: true,
    });
    expect(map.get('down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q')?.initializer).toBe(
      'onnx::MatMul_7',
    );
  });

  it('names no module from a scope two MatMuls share (torch cuts ModuleList paths in some traces)', () => {
    const shared = '/unet/attentions.0/transformer_blocks.0/attn1/to_q/MatMul';
    const map = weightMap({
      initializers: new Map([init('onnx::MatMul_7', [8, 8]), init('onnx::MatMul_9', [8, 8])]),
      nodes: [
        { opType: 'MatMul', name: shared, inputs: ['t1', 'onnx::MatMul_7'] },
        { opType: 'MatMul', name: shared, inputs: ['t2', 'onnx::MatMul_9'] },
      ],
    });
    expect(map.size).toBe(0);
  });

  it('gives a weight the declared map placed no second name from a truncated scope', () => {
    const map = weightMap(layout, {
      'unet.up_blocks.3.attentions.0.transformer_blocks.0.attn1.to_q.weight': {
        initializer: 'onnx::MatMul_7',
        transposed: true,
      },
    });
    const names = [...map].filter(([, t]) => t.initializer === 'onnx::MatMul_7').map(([m]) => m);
    expect(names).toEqual(['up_blocks_3_attentions_0_transformer_blocks_0_attn1_to_q']);
  });

  it('names modules as kohya does', () => {
    expect(moduleKey('text_model.encoder.layers.0.self_attn.q_proj.weight')).toBe(
      'text_model_encoder_layers_0_self_attn_q_proj',
    );
  });

  it("finds every conv weight of the SDXL fixture's UNet by its name", () => {
    const model = new Uint8Array(
      readFileSync(join(import.meta.dirname, 'fixtures/models/sdxl/unet/model.onnx')),
    );
    const graph = readGraphLayout(model);
    const map = weightMap(graph);
    const convs = [...graph.initializers.values()].filter(
      (i) => i.dims.length === 4 && i.name.endsWith('.weight'),
    );
    expect(convs.length).toBeGreaterThan(10);
    for (const conv of convs) {
      expect(map.get(moduleKey(conv.name.replace(/^unet\./, '')))?.initializer, conv.name).toBe(conv.name);
    }
  });

  // Every graph the project exports (the bundled model and each fixture) ships weight_map.json; a
  // MatMul weight it misses is a Linear layer no LoRA could reach (these graphs have no node names).
  const graphs = [
    join(import.meta.dirname, '../models/tiny-sd'),
    ...readdirSync(join(import.meta.dirname, 'fixtures/models')).map((n) =>
      join(import.meta.dirname, 'fixtures/models', n),
    ),
  ].flatMap((folder) =>
    readdirSync(folder)
      .map((part) => join(folder, part))
      .filter((dir) => existsSync(join(dir, 'model.onnx')) && existsSync(join(dir, 'weight_map.json'))),
  );

  it('has a weight_map.json beside the graphs the project exports', () => {
    expect(graphs.some((g) => g.endsWith('tiny-sd/unet'))).toBe(true);
    expect(graphs.some((g) => g.endsWith('sdxl/text_encoder_2'))).toBe(true);
  });

  it.each(graphs.map((g) => [g.split('/').slice(-2).join('/'), g]))(
    '%s: weight_map.json reaches every MatMul weight, each once',
    (_name, dir) => {
      const graph = readGraphLayout(new Uint8Array(readFileSync(join(dir, 'model.onnx'))));
      const declared = JSON.parse(readFileSync(join(dir, 'weight_map.json'), 'utf8'));
      const matmulWeights = new Set(
        graph.nodes
          .filter((n) => n.opType === 'MatMul')
          .flatMap((n) => n.inputs.filter((i) => graph.initializers.get(i)?.dims.length === 2)),
      );
      const map = weightMap(graph, declared);
      const reached = [...map.values()].filter((t) => t.transposed).map((t) => t.initializer);
      expect(new Set(reached).size).toBe(reached.length);
      expect(new Set(reached)).toEqual(matmulWeights);
    },
  );
});
