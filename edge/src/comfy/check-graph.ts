// Checks a workflow before anything runs or is stored, as ComfyUI's execution.py validate_prompt
// does: every node type known (all unknown ones listed at once), one output node, links that
// point at existing nodes and slots of the right type, no dependency cycle, and every widget
// value of the right kind within its range or choices. Only what the output needs is checked,
// as in ComfyUI. Any problem is a ComfyPromptError (400) in ComfyUI's shape.
import { type InputSpec, NOT_YET, type NodeDefinition } from './node-definitions.ts';
import { ComfyPromptError, type NodeErrorItem, type NodeErrors } from './prompt-error.ts';
import { asLink, type Workflow } from './workflow.ts';

/** LoadImage names are what POST /upload/image answers: the image's SHA-256 and extension. */
export const UPLOADED_NAME = /^([0-9a-f]{64})\.(png|jpg|webp)$/;

/** A checkpoint or LoRA named with or without its file extension, as clients do both. */
export function matchChoice(values: readonly string[], value: string): string | undefined {
  const bare = value.replace(/\.(safetensors|ckpt|pt)$/, '');
  return [value, bare, `${bare}.safetensors`].find((v) => values.includes(v));
}

function item(type: string, message: string, details: string, input: string): NodeErrorItem {
  return { type, message, details, extra_info: { input_name: input } };
}

function checkWidget(spec: Exclude<InputSpec, { kind: 'link' }>, name: string, value: unknown) {
  const shown = JSON.stringify(value)?.slice(0, 100) ?? String(value);
  const wrongType = (want: string) =>
    item(
      'invalid_input_type',
      `Failed to convert an input value to a ${want} value`,
      `${name}, ${shown}`,
      name,
    );
  switch (spec.kind) {
    case 'int':
    case 'float': {
      if (typeof value !== 'number' || !Number.isFinite(value)) return wrongType(spec.kind.toUpperCase());
      if (spec.kind === 'int' && !Number.isInteger(value)) return wrongType('INT');
      if (value < spec.min)
        return item(
          'value_smaller_than_min',
          `Value ${value} smaller than min of ${spec.min}`,
          `${name}`,
          name,
        );
      if (value > spec.max)
        return item(
          'value_bigger_than_max',
          `Value ${value} bigger than max of ${spec.max}`,
          `${name}`,
          name,
        );
      return undefined;
    }
    case 'string':
      return typeof value === 'string' ? undefined : wrongType('STRING');
    case 'choice':
      if (typeof value === 'string' && matchChoice(spec.values, value)) return undefined;
      return item(
        'value_not_in_list',
        'Value not in list',
        `${name}: ${shown} not in ${JSON.stringify(spec.values)}`,
        name,
      );
    case 'image_name':
      if (typeof value === 'string' && UPLOADED_NAME.test(value)) return undefined;
      return item(
        'value_not_in_list',
        'Invalid image file',
        `${name}: ${shown} is not a name POST /upload/image answered`,
        name,
      );
  }
}

const notYetReason = (classType: string) =>
  Object.hasOwn(NOT_YET, classType) ? NOT_YET[classType] : undefined;

function unknownNodes(workflow: Workflow, definitions: Record<string, NodeDefinition>): void {
  const unknown = Object.entries(workflow).filter(([, node]) => !Object.hasOwn(definitions, node.class_type));
  if (unknown.length === 0) return;
  const nodeErrors: Record<string, NodeErrors> = {};
  for (const [id, node] of unknown) {
    const reason = notYetReason(node.class_type) ?? 'this server does not run this node type';
    nodeErrors[id] = {
      errors: [
        {
          type: 'missing_node_type',
          message: `Node '${node.class_type}' not run here`,
          details: reason,
          extra_info: {},
        },
      ],
      dependent_outputs: [],
      class_type: node.class_type,
    };
  }
  const listed = unknown.map(([id, node]) => `${node.class_type} (node ${id})`).join(', ');
  const notYet = unknown.map(([, node]) => notYetReason(node.class_type)).filter(Boolean);
  throw new ComfyPromptError(
    'missing_node_type',
    `this server does not run these nodes: ${listed}${notYet.length ? ` (${[...new Set(notYet)].join('; ')})` : ''}`,
    `supported: ${Object.keys(definitions).join(', ')}`,
    nodeErrors,
  );
}

/** Returns the id of the workflow's output node once the whole graph behind it is valid. */
export function checkGraph(workflow: Workflow, definitions: Record<string, NodeDefinition>): string {
  unknownNodes(workflow, definitions);
  const outputs = Object.keys(workflow).filter((id) => definitions[workflow[id].class_type].outputNode);
  if (outputs.length === 0) {
    throw new ComfyPromptError('prompt_no_outputs', 'Prompt has no outputs', 'add a SaveImage node');
  }
  if (outputs.length > 1) {
    throw new ComfyPromptError(
      'prompt_outputs_failed_validation',
      `not yet: one SaveImage per workflow on this server, this one has ${outputs.length} (nodes ${outputs.join(', ')})`,
      '',
    );
  }
  const [output] = outputs;
  const nodeErrors: Record<string, NodeErrors> = {};
  const fail = (id: string, error: NodeErrorItem) => {
    nodeErrors[id] ??= { errors: [], dependent_outputs: [output], class_type: workflow[id].class_type };
    nodeErrors[id].errors.push(error);
  };
  // Depth-first from the output; a node met again while still on the path closes a cycle.
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (id: string): void => {
    state.set(id, 'visiting');
    const node = workflow[id];
    const definition = definitions[node.class_type];
    for (const [name, spec] of Object.entries(definition.required)) {
      const value = node.inputs[name];
      if (value === undefined) {
        fail(id, item('required_input_missing', 'Required input is missing', name, name));
        continue;
      }
      if (spec.kind !== 'link') {
        const error = Array.isArray(value)
          ? item(
              'invalid_input_type',
              'This input takes a value, not a link',
              `${name}: ${JSON.stringify(value)}`,
              name,
            )
          : checkWidget(spec, name, value);
        if (error) fail(id, error);
        continue;
      }
      const target = asLink(value);
      if (!target) {
        fail(
          id,
          item(
            'bad_linked_input',
            'Bad linked input, must be a length-2 list of [node_id, slot_index]',
            name,
            name,
          ),
        );
        continue;
      }
      // Own keys only: a link to "constructor" must not find Object's.
      const source = Object.hasOwn(workflow, target.node) ? workflow[target.node] : undefined;
      if (!source) {
        fail(
          id,
          item(
            'missing_link',
            `Linked node ${target.node} is not in the workflow`,
            `${name}: ${JSON.stringify(value)}`,
            name,
          ),
        );
        continue;
      }
      const produced = definitions[source.class_type].outputs[target.slot]?.type;
      if (produced !== spec.type) {
        fail(
          id,
          item(
            'return_type_mismatch',
            'Return type mismatch between linked nodes',
            `${name}, received_type(${produced ?? `no output slot ${target.slot}`}) mismatch input_type(${spec.type})`,
            name,
          ),
        );
        continue;
      }
      const seen = state.get(target.node);
      if (seen === 'visiting') {
        fail(
          id,
          item(
            'dependency_cycle',
            'Dependency cycle detected',
            `${name} links back to node ${target.node}`,
            name,
          ),
        );
      } else if (seen === undefined) {
        visit(target.node);
      }
    }
    state.set(id, 'done');
  };
  visit(output);
  if (Object.keys(nodeErrors).length > 0) {
    const summary = Object.entries(nodeErrors)
      .map(
        ([id, e]) =>
          `node ${id} (${e.class_type}): ${e.errors.map((x) => `${x.message}: ${x.details}`).join('; ')}`,
      )
      .join(' | ');
    throw new ComfyPromptError(
      'prompt_outputs_failed_validation',
      `Prompt outputs failed validation: ${summary}`,
      '',
      nodeErrors,
    );
  }
  return output;
}
