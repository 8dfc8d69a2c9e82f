// A LoRA file's layers, whatever wrote it: kohya-ss/AUTOMATIC1111 (`lora_unet_…`, `lora_te_…`,
// SDXL's `lora_te1_…`/`lora_te2_…`, with `.lora_down.weight`, `.lora_up.weight`, `.alpha`; LoCon
// conv layers are the same keys with 4-d weights), diffusers/PEFT (`unet.….lora_A.weight` /
// `lora_B`), and diffusers' older attention-processor form (`….processor.to_q_lora.down.weight`).
// Every layer comes out as ΔW = (alpha / rank) · up · down for one module, named the way kohya
// names it: the module path with dots as underscores, which is what all three can be brought to.
// LyCORIS's other algorithms are refused by name rather than half-applied.
import { type SafetensorsFile, tensorToFloat32 } from './safetensors.ts';

export class LoraFormatError extends Error {
  override name = 'LoraFormatError';
}

export type LoraComponent = 'unet' | 'text_encoder' | 'text_encoder_2';

export interface LoraMatrix {
  values: Float32Array;
  shape: number[];
}

export interface LoraLayer {
  component: LoraComponent;
  /** The module path with "." as "_" (kohya's form), e.g. `down_blocks_0_attentions_0_proj_in`. */
  module: string;
  /** [rank, in] for a linear layer, [rank, in, kh, kw] for a conv (LoCon). */
  down: LoraMatrix;
  /** [out, rank] for a linear layer, [out, rank, 1, 1] for a conv. */
  up: LoraMatrix;
  rank: number;
  /** The file's alpha; the merge scales by alpha / rank (alpha = rank when the file has none). */
  alpha: number;
}

export interface LoraFile {
  format: 'kohya' | 'peft' | 'diffusers';
  layers: LoraLayer[];
}

/** Key fragments of formats this merge does not implement, and the names users know them by. */
const UNSUPPORTED: [RegExp, string][] = [
  [/\.hada_w[12]_[ab]$/, 'LoHa (LyCORIS hada_*)'],
  [/\.lokr_w[12](_[ab])?$/, 'LoKr (LyCORIS lokr_*)'],
  [/\.lora_mid\.weight$/, 'LoCon with CP decomposition (lora_mid)'],
  [/\.dora_scale$/, 'DoRA (dora_scale)'],
  [/\.oft_(blocks|diag)$|\.oft_R\./, 'OFT / BOFT'],
  [/\.on_input$/, '(IA)³'],
  [/\.diff(_b)?$/, 'LyCORIS full weight difference (diff)'],
  [/\.[wb]_norm$/, 'normalisation-layer training (w_norm / b_norm)'],
];

const KOHYA = /^(lora_unet|lora_te1|lora_te2|lora_te)_(.+)\.(lora_down\.weight|lora_up\.weight|alpha)$/;
const KOHYA_COMPONENT: Record<string, LoraComponent> = {
  lora_unet: 'unet',
  lora_te: 'text_encoder',
  lora_te1: 'text_encoder',
  lora_te2: 'text_encoder_2',
};
const PEFT =
  /^(?:base_model\.model\.)?(unet|text_encoder|text_encoder_2)\.(.+)\.lora_([AB])(?:\.default)?\.weight$/;
const PEFT_ALPHA = /^(?:base_model\.model\.)?(unet|text_encoder|text_encoder_2)\.(.+)\.alpha$/;
const DIFFUSERS = /^(unet|text_encoder|text_encoder_2)\.(.+?)\.(?:lora\.)?(down|up)\.weight$/;

/**
 * diffusers' attention-processor LoRA names the processor, not the module it changes
 * (diffusers `loaders/lora_conversion_utils.py`): `attn1.processor.to_q_lora` is `attn1.to_q`,
 * `to_out_lora` is `to_out.0`, and a text encoder's `q_proj.lora_linear_layer` is `q_proj`.
 */
function diffusersModule(path: string): string {
  return path
    .replace(/\.processor\.(to_[qkv])_lora$/, '.$1')
    .replace(/\.processor\.to_out_lora$/, '.to_out.0')
    .replace(/\.lora_linear_layer$/, '');
}

interface Parts {
  component: LoraComponent;
  module: string;
  down?: LoraMatrix;
  up?: LoraMatrix;
  alpha?: number;
}

interface KeyRole {
  /** Undefined for a key every format may carry (PEFT's alpha). */
  format?: LoraFile['format'];
  component: LoraComponent;
  module: string;
  role: 'down' | 'up' | 'alpha';
}

/** Which layer a key belongs to, in which format, and what it holds; undefined for none. */
function classify(key: string): KeyRole | undefined {
  const kohya = KOHYA.exec(key);
  if (kohya) {
    const role = kohya[3] === 'alpha' ? 'alpha' : kohya[3] === 'lora_down.weight' ? 'down' : 'up';
    return { format: 'kohya', component: KOHYA_COMPONENT[kohya[1]], module: kohya[2], role };
  }
  const peft = PEFT.exec(key);
  if (peft) {
    const module = peft[2].replaceAll('.', '_');
    return {
      format: 'peft',
      component: peft[1] as LoraComponent,
      module,
      role: peft[3] === 'A' ? 'down' : 'up',
    };
  }
  const alpha = PEFT_ALPHA.exec(key);
  if (alpha)
    return { component: alpha[1] as LoraComponent, module: alpha[2].replaceAll('.', '_'), role: 'alpha' };
  const diffusers = DIFFUSERS.exec(key);
  if (diffusers) {
    const module = diffusersModule(diffusers[2]).replaceAll('.', '_');
    return {
      format: 'diffusers',
      component: diffusers[1] as LoraComponent,
      module,
      role: diffusers[3] as 'down' | 'up',
    };
  }
  return undefined;
}

export function parseLora(file: SafetensorsFile, what: string, defaultAlpha?: number): LoraFile {
  const keys = [...file.tensors.keys()];
  for (const key of keys) {
    for (const [pattern, format] of UNSUPPORTED) {
      if (pattern.test(key)) {
        throw new LoraFormatError(
          `${what} is ${format}, which is not supported (key "${key}"); LoRA and LoCon are`,
        );
      }
    }
  }
  const layers = new Map<string, Parts>();
  let format: LoraFile['format'] | undefined;
  const unknown: string[] = [];
  for (const key of keys) {
    const found = classify(key);
    if (!found) {
      unknown.push(key);
      continue;
    }
    format = found.format ?? format;
    const id = `${found.component}:${found.module}`;
    const layer = layers.get(id) ?? { component: found.component, module: found.module };
    layers.set(id, layer);
    const tensor = file.tensors.get(key);
    if (!tensor) continue;
    const matrix = { values: tensorToFloat32(tensor, `${what}: "${key}"`), shape: tensor.shape };
    if (found.role === 'alpha') layer.alpha = scalar(matrix, key, what);
    else layer[found.role] = matrix;
  }
  if (unknown.length > 0 || !format) {
    const sample = unknown.slice(0, 3).map((k) => `"${k}"`);
    throw new LoraFormatError(
      `${what} is not a LoRA this server reads (kohya/A1111 lora_unet_/lora_te_ keys, or diffusers/PEFT ` +
        `unet./text_encoder. keys)${sample.length ? `: ${unknown.length} keys such as ${sample.join(', ')} match neither` : ': it has no tensors'}`,
    );
  }
  return { format, layers: [...layers.values()].map((p) => complete(p, what, defaultAlpha)) };
}

function scalar(m: LoraMatrix, key: string, what: string): number {
  if (m.values.length !== 1)
    throw new LoraFormatError(`${what}: "${key}" should hold one number, it has ${m.values.length}`);
  return m.values[0];
}

function complete(p: Parts, what: string, defaultAlpha: number | undefined): LoraLayer {
  const name = `${what}: ${p.component} ${p.module}`;
  if (!p.down || !p.up) throw new LoraFormatError(`${name} has ${p.down ? 'no up' : 'no down'} matrix`);
  const { down, up } = p;
  const rank = down.shape[0];
  const linear = down.shape.length === 2 && up.shape.length === 2;
  const conv = down.shape.length === 4 && up.shape.length === 4 && up.shape[2] === 1 && up.shape[3] === 1;
  if (!(linear || conv) || up.shape[1] !== rank || rank === 0) {
    throw new LoraFormatError(
      `${name}: down [${down.shape.join(', ')}] and up [${up.shape.join(', ')}] are not a rank-r pair (down [r, in(, kh, kw)], up [out, r(, 1, 1)])`,
    );
  }
  const alpha = p.alpha ?? defaultAlpha ?? rank;
  if (!Number.isFinite(alpha)) throw new LoraFormatError(`${name}: alpha is not a finite number`);
  return { component: p.component, module: p.module, down, up, rank, alpha };
}
