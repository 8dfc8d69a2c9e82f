// GET /object_info: the nodes this server runs, in ComfyUI's shape (server.py node_info): each
// input as [type, options] or [[choices], options], the outputs' types and names. Built from the
// same definitions the graph check uses.
import type { InputSpec, NodeDefinition } from './node-definitions.ts';

function inputInfo(spec: InputSpec): unknown[] {
  switch (spec.kind) {
    case 'link':
      return [spec.type];
    case 'int':
      return ['INT', { default: spec.default, min: spec.min, max: spec.max }];
    case 'float':
      return ['FLOAT', { default: spec.default, min: spec.min, max: spec.max, step: spec.step }];
    case 'string':
      return ['STRING', { default: spec.default, ...(spec.multiline && { multiline: true }) }];
    case 'choice':
      return [[...spec.values], spec.default === undefined ? {} : { default: spec.default }];
    case 'image_name':
      return [[], { image_upload: true }];
  }
}

export function objectInfo(name: string, definition: NodeDefinition) {
  const required = Object.fromEntries(Object.entries(definition.required).map(([k, s]) => [k, inputInfo(s)]));
  return {
    input: { required },
    input_order: { required: Object.keys(required) },
    output: definition.outputs.map((o) => o.type),
    output_is_list: definition.outputs.map(() => false),
    output_name: definition.outputs.map((o) => o.name),
    name,
    display_name: definition.display,
    description: definition.description,
    python_module: 'nodes',
    category: definition.category,
    output_node: definition.outputNode,
  };
}
