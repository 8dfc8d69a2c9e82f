// LoRA files in the key layouts the tools that make them write (kohya-ss sd-scripts and A1111:
// lora_unet_/lora_te_/lora_te1_/lora_te2_ with lora_down/lora_up/alpha; diffusers/PEFT lora_A /
// lora_B; diffusers' attention-processor form), all brought to one layer per module in kohya's
// underscore naming, and the formats this merge does not implement refused by name.
import { describe, expect, it } from 'vitest';
import { LoraFormatError, parseLora } from '../src/lora/lora-file.ts';
import { readSafetensors } from '../src/lora/safetensors.ts';
import { safetensorsBytes, type TensorSpec } from './support/safetensors-file.ts';

const ramp = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i / 8);
const parse = (tensors: Record<string, TensorSpec>, defaultAlpha?: number) =>
  parseLora(readSafetensors(safetensorsBytes(tensors)), 'loras/test.safetensors', defaultAlpha);

describe('parseLora', () => {
  it('reads kohya linear and LoCon conv layers with their alpha, for UNet and both SDXL text encoders', () => {
    const { format, layers } = parse({
      'lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q.lora_down.weight': {
        shape: [2, 8],
        values: ramp(16),
      },
      'lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q.lora_up.weight': {
        shape: [8, 2],
        values: ramp(16, 1),
      },
      'lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q.alpha': {
        shape: [],
        values: [1],
      },
      'lora_unet_down_blocks_0_resnets_0_conv1.lora_down.weight': { shape: [4, 8, 3, 3], values: ramp(288) },
      'lora_unet_down_blocks_0_resnets_0_conv1.lora_up.weight': { shape: [8, 4, 1, 1], values: ramp(32) },
      'lora_te1_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight': {
        shape: [1, 4],
        values: ramp(4),
      },
      'lora_te1_text_model_encoder_layers_0_self_attn_q_proj.lora_up.weight': {
        shape: [4, 1],
        values: ramp(4),
      },
      'lora_te2_text_model_encoder_layers_0_mlp_fc1.lora_down.weight': { shape: [1, 4], values: ramp(4) },
      'lora_te2_text_model_encoder_layers_0_mlp_fc1.lora_up.weight': { shape: [16, 1], values: ramp(16) },
    });
    expect(format).toBe('kohya');
    const summary = layers.map((l) => [l.component, l.module, l.rank, l.alpha, l.down.shape.length]);
    expect(summary).toEqual([
      ['unet', 'down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q', 2, 1, 2],
      ['unet', 'down_blocks_0_resnets_0_conv1', 4, 4, 4], // no alpha key: alpha = rank, scale 1
      ['text_encoder', 'text_model_encoder_layers_0_self_attn_q_proj', 1, 1, 2],
      ['text_encoder_2', 'text_model_encoder_layers_0_mlp_fc1', 1, 1, 2],
    ]);
    expect([...layers[0].up.values.slice(0, 3)]).toEqual([1, 1.125, 1.25]);
  });

  it('reads lora_te_ (SD 1.x/2.x) as the first text encoder', () => {
    const { layers } = parse({
      'lora_te_text_model_encoder_layers_3_self_attn_out_proj.lora_down.weight': {
        shape: [1, 4],
        values: ramp(4),
      },
      'lora_te_text_model_encoder_layers_3_self_attn_out_proj.lora_up.weight': {
        shape: [4, 1],
        values: ramp(4),
      },
    });
    expect(layers.map((l) => [l.component, l.module])).toEqual([
      ['text_encoder', 'text_model_encoder_layers_3_self_attn_out_proj'],
    ]);
  });

  it('reads diffusers/PEFT lora_A/lora_B with the alpha given by its adapter config', () => {
    const { format, layers } = parse(
      {
        'unet.mid_block.attentions.0.transformer_blocks.0.attn2.to_k.lora_A.weight': {
          shape: [2, 4],
          values: ramp(8),
        },
        'unet.mid_block.attentions.0.transformer_blocks.0.attn2.to_k.lora_B.weight': {
          shape: [8, 2],
          values: ramp(16),
        },
        'text_encoder.text_model.encoder.layers.1.self_attn.v_proj.lora_A.weight': {
          shape: [2, 4],
          values: ramp(8),
        },
        'text_encoder.text_model.encoder.layers.1.self_attn.v_proj.lora_B.weight': {
          shape: [4, 2],
          values: ramp(8),
        },
      },
      8,
    );
    expect(format).toBe('peft');
    expect(layers.map((l) => [l.component, l.module, l.rank, l.alpha])).toEqual([
      ['unet', 'mid_block_attentions_0_transformer_blocks_0_attn2_to_k', 2, 8],
      ['text_encoder', 'text_model_encoder_layers_1_self_attn_v_proj', 2, 8],
    ]);
  });

  it("maps diffusers' attention-processor names to the modules they change", () => {
    const pair = (prefix: string) => ({
      [`${prefix}.down.weight`]: { shape: [1, 4], values: ramp(4) },
      [`${prefix}.up.weight`]: { shape: [4, 1], values: ramp(4) },
    });
    const { format, layers } = parse({
      ...pair('unet.up_blocks.1.attentions.2.transformer_blocks.0.attn1.processor.to_q_lora'),
      ...pair('unet.up_blocks.1.attentions.2.transformer_blocks.0.attn1.processor.to_out_lora'),
      ...pair('text_encoder.text_model.encoder.layers.0.self_attn.k_proj.lora_linear_layer'),
      ...pair('unet.conv_in.lora'),
    });
    expect(format).toBe('diffusers');
    expect(layers.map((l) => l.module)).toEqual([
      'up_blocks_1_attentions_2_transformer_blocks_0_attn1_to_q',
      'up_blocks_1_attentions_2_transformer_blocks_0_attn1_to_out_0',
      'text_model_encoder_layers_0_self_attn_k_proj',
      'conv_in',
    ]);
  });

  const one = { shape: [1], values: [1] };
  const refusals: [string, Record<string, TensorSpec>, RegExp][] = [
    [
      'LoHa',
      { 'lora_unet_conv_in.hada_w1_a': one },
      /is LoHa \(LyCORIS hada_\*\), which is not supported \(key "lora_unet_conv_in.hada_w1_a"\)/,
    ],
    ['LoKr', { 'lora_unet_conv_in.lokr_w1': one }, /is LoKr/],
    ['LoCon with CP', { 'lora_unet_conv_in.lora_mid.weight': one }, /CP decomposition \(lora_mid\)/],
    ['DoRA', { 'lora_unet_conv_in.dora_scale': one }, /DoRA/],
    ['(IA)³', { 'lora_unet_conv_in.on_input': one }, /\(IA\)³/],
    ['a full difference', { 'lora_unet_conv_in.diff': one }, /full weight difference/],
    [
      'a checkpoint, not a LoRA',
      { 'model.diffusion_model.input_blocks.0.0.weight': one },
      /is not a LoRA this server reads.*1 keys such as "model.diffusion_model/,
    ],
    ['an empty file', {}, /it has no tensors/],
    [
      'a layer without its up matrix',
      { 'lora_unet_conv_in.lora_down.weight': { shape: [1, 4], values: ramp(4) } },
      /unet conv_in has no up matrix/,
    ],
    [
      'matrices of different ranks',
      {
        'lora_unet_conv_in.lora_down.weight': { shape: [2, 4], values: ramp(8) },
        'lora_unet_conv_in.lora_up.weight': { shape: [4, 1], values: ramp(4) },
      },
      /down \[2, 4\] and up \[4, 1\] are not a rank-r pair/,
    ],
    [
      'an alpha that is not one number',
      {
        'lora_unet_conv_in.lora_down.weight': { shape: [1, 4], values: ramp(4) },
        'lora_unet_conv_in.lora_up.weight': { shape: [4, 1], values: ramp(4) },
        'lora_unet_conv_in.alpha': { shape: [2], values: [1, 2] },
      },
      /"lora_unet_conv_in.alpha" should hold one number, it has 2/,
    ],
  ];
  it.each(refusals)('refuses %s, naming the file', (_, tensors, message) => {
    expect(() => parse(tensors)).toThrow(LoraFormatError);
    expect(() => parse(tensors)).toThrow(/^loras\/test\.safetensors/);
    expect(() => parse(tensors)).toThrow(message);
  });
});
