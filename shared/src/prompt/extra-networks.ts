// AUTOMATIC1111's extra-network tags: `<lora:name:weight>` in a prompt asks for a LoRA and is
// removed from the text the encoder sees, so it costs no tokens (A1111 `extra_networks.py`,
// `parse_prompt`: the pattern `<(\w+):([^>]+)>`, arguments split on ":", each tag replaced by "").
// `lyco` is the older name LyCORIS's extension used for the same thing. Other networks
// (hypernetworks) and the per-encoder weights of `<lora:name:te:unet>` are refused by name rather
// than silently ignored.
import { PromptError } from './prompt-errors.ts';

export interface LoraTag {
  name: string;
  weight: number;
}

export interface PromptWithTags {
  /** The prompt with every tag removed: what is tokenized. */
  text: string;
  loras: LoraTag[];
}

const TAG = /<(\w+):([^>]+)>/g;
const LORA_NETWORKS = new Set(['lora', 'lyco']);
/** A1111's number syntax for a multiplier: optional sign, digits with an optional fraction. */
const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;

export function extractLoraTags(prompt: string, field = 'prompt'): PromptWithTags {
  const loras: LoraTag[] = [];
  const text = prompt.replace(TAG, (tag, network: string, body: string) => {
    if (!LORA_NETWORKS.has(network.toLowerCase())) {
      throw new PromptError(
        `${field}: ${tag} is a "${network}" network, which is not supported; LoRAs are <lora:name:weight>`,
      );
    }
    const [name, weight = '1', ...rest] = body.split(':').map((s) => s.trim());
    if (rest.length > 0) {
      throw new PromptError(
        `${field}: ${tag} gives separate text-encoder and UNet weights, which are not supported; write <lora:${name}:weight>`,
      );
    }
    if (!name) throw new PromptError(`${field}: ${tag} names no LoRA; write <lora:name:weight>`);
    if (!NUMBER.test(weight)) {
      throw new PromptError(
        `${field}: the LoRA weight "${weight}" in ${tag} is not a number: write <lora:${name}:0.8>`,
      );
    }
    loras.push({ name, weight: Number(weight) });
    return '';
  });
  return { text, loras };
}
