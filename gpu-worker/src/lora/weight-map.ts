// Which ONNX initializer holds each PyTorch weight of a graph, so a LoRA layer named by its module
// (kohya's `down_blocks_0_attentions_0_proj_in`) finds the numbers to change. An export keeps a
// parameter's name where the weight is used as is (Conv, Gemm, LayerNorm), but a Linear traced as
// MatMul stores its weight transposed under a new name (`onnx::MatMul_2440`). Three sources, in
// order of trust:
//   1. `weight_map.json` beside the graph, written by the export tooling from the torch module;
//   2. node names: torch.onnx and Optimum name a MatMul by its module scope
//      (`/down_blocks.0/attentions.0/transformer_blocks.0/attn1/to_q/MatMul`);
//   3. initializers that kept their parameter names.
// A wrapper module's attribute (`model.`, `unet.`, as our export graphs wrap the network) is not
// part of the name a LoRA file uses, so it is dropped. Scopes are not always whole paths: torch
// names a module inside a ModuleList by its last attribute only in some traces
// (`/unet/attentions.0/…` for both `down_blocks.0.attentions.0` and `up_blocks.3.attentions.0`),
// so a scope two MatMuls share names neither: a wrong guess would merge a LoRA into another layer
// of the same shape, silently.
import type { OnnxGraphLayout } from './onnx-initializers.ts';

export interface WeightTarget {
  /** The PyTorch parameter, e.g. `down_blocks.0.attentions.0.proj_in.weight`. */
  param: string;
  initializer: string;
  /** Stored [in, out] (a Linear exported as MatMul), not PyTorch's [out, in]. */
  transposed: boolean;
}

/** `weight_map.json`: parameter name → where it is. */
export type DeclaredWeightMap = Record<string, { initializer: string; transposed: boolean }>;

const WRAPPERS = new Set(['model', 'unet', 'text_encoder', 'text_encoder_2']);

function withoutWrapper(path: string): string {
  const dot = path.indexOf('.');
  return dot > 0 && WRAPPERS.has(path.slice(0, dot)) ? path.slice(dot + 1) : path;
}

/** kohya's module key: the module path (the parameter without `.weight`) with dots as underscores. */
export function moduleKey(param: string): string {
  return param.replace(/\.weight$/, '').replaceAll('.', '_');
}

/** The parameter a MatMul node's scope names: `/a/b.0/c/MatMul` → `a.b.0.c.weight`. */
function scopeParam(nodeName: string): string | undefined {
  const segments = nodeName.split('/').filter(Boolean);
  if (segments.length < 2) return undefined;
  return `${withoutWrapper(segments.slice(0, -1).join('.'))}.weight`;
}

/** Module key → weight, for every `.weight` parameter the graph's weights can be traced to. */
export function weightMap(
  layout: OnnxGraphLayout,
  declared: DeclaredWeightMap = {},
): Map<string, WeightTarget> {
  const byParam = new Map<string, WeightTarget>();
  // An initializer has one source: a truncated scope must not name a second module for a weight
  // the declared map already placed.
  const claimed = new Set<string>();
  const add = (param: string, initializer: string, transposed: boolean) => {
    if (!param.endsWith('.weight') || byParam.has(param) || claimed.has(initializer)) return;
    if (!layout.initializers.has(initializer)) return;
    byParam.set(param, { param, initializer, transposed });
    claimed.add(initializer);
  };
  for (const [param, target] of Object.entries(declared)) {
    add(withoutWrapper(param), target.initializer, target.transposed);
  }
  const scoped = new Map<string, string | null>();
  for (const node of layout.nodes) {
    if (node.opType !== 'MatMul' || !node.name) continue;
    const weight = node.inputs.find((input) => layout.initializers.get(input)?.dims.length === 2);
    const param = scopeParam(node.name);
    if (!weight || !param || !weight.startsWith('onnx::')) continue;
    scoped.set(param, scoped.has(param) && scoped.get(param) !== weight ? null : weight);
  }
  for (const [param, weight] of scoped) if (weight) add(param, weight, true);
  for (const name of layout.initializers.keys()) {
    if (!name.startsWith('onnx::')) add(withoutWrapper(name), name, false);
  }
  const byModule = new Map<string, WeightTarget>();
  for (const target of byParam.values()) byModule.set(moduleKey(target.param), target);
  return byModule;
}
