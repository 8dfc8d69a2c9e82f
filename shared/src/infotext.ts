// AUTOMATIC1111's "infotext": the `parameters` text its PNGs carry and its API returns, which
// A1111's PNG Info tab, civitai and many other tools read back. Format from
// `modules/processing.py: create_infotext`: the prompt, then "Negative prompt: ...", then one line
// of `Key: value` pairs separated by ", " (values containing ',' ':' or '"' are JSON-quoted).
import { SCHEDULER_NAMES, type SchedulerName } from './scheduler-names.ts';

const A1111_SAMPLER_NAMES: Readonly<Record<SchedulerName, string>> = {
  pndm: 'PLMS',
  ddim: 'DDIM',
  euler: 'Euler',
  euler_ancestral: 'Euler a',
  dpmpp_2m: 'DPM++ 2M',
  dpmpp_2m_karras: 'DPM++ 2M Karras',
  lcm: 'LCM',
  heun: 'Heun',
};

export function a1111SamplerName(scheduler: SchedulerName): string {
  return A1111_SAMPLER_NAMES[scheduler];
}

export const A1111_SAMPLERS = SCHEDULER_NAMES.map((name) => ({
  name: A1111_SAMPLER_NAMES[name],
  scheduler: name,
}));

export interface InfotextParameters {
  prompt: string;
  negativePrompt: string;
  steps: number;
  scheduler: SchedulerName;
  guidanceScale: number;
  seed: number;
  width: number;
  height: number;
  model: string;
  modelHash?: string;
  strength?: number;
  /** Inpainting: the mask blur (A1111 writes it for every masked img2img). */
  maskBlur?: number;
  /** LoRAs merged in: A1111 writes `Lora hashes: "name: <first 12 hex of the file's SHA-256>, …"`. */
  loras?: readonly { name: string; sha256: string }[];
  /** Textual-inversion embeddings used: A1111 writes `TI hashes: "name: <first 12 hex>, …"`. */
  embeddings?: readonly { name: string; sha256: string }[];
}

/** A1111 `quote`: values with separators are written as JSON strings. */
function quote(value: string): string {
  return /[,:"\n]/.test(value) ? JSON.stringify(value) : value;
}

export function formatInfotext(p: InfotextParameters): string {
  const fields: [string, string | number | undefined][] = [
    ['Steps', p.steps],
    ['Sampler', a1111SamplerName(p.scheduler)],
    ['CFG scale', p.guidanceScale],
    ['Seed', p.seed],
    ['Size', `${p.width}x${p.height}`],
    ['Model hash', p.modelHash],
    ['Model', p.model],
    ['Denoising strength', p.strength],
    ['Mask blur', p.maskBlur],
    ['Lora hashes', p.loras?.map((l) => `${l.name}: ${l.sha256.slice(0, 12)}`).join(', ')],
    ['TI hashes', p.embeddings?.map((e) => `${e.name}: ${e.sha256.slice(0, 12)}`).join(', ')],
  ];
  const line = fields
    .filter(([, value]) => value !== undefined && value !== '')
    .map(([key, value]) => `${key}: ${quote(String(value))}`)
    .join(', ');
  const negative = p.negativePrompt ? `\nNegative prompt: ${p.negativePrompt}` : '';
  return `${p.prompt}${negative}\n${line}`;
}

/** A1111's `re_param` (modules/infotext_utils.py): `Key: value`, the value JSON-quoted or up to ','. */
const PARAM = /\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)/g;
const IMAGE_SIZE = /^(\d+)x(\d+)$/;

/**
 * An infotext read back into A1111's dict, as `modules/infotext_utils.py:
 * parse_generation_parameters` builds it for POST /sdapi/v1/png-info: "Prompt", "Negative
 * prompt", each `Key: value` of the last line as a string (a `WxH` value split into `Key-1` and
 * `Key-2`), and "Clip skip" "1" when absent. A last line with fewer than 3 pairs is prompt text.
 */
export function parseInfotext(text: string): Record<string, string> {
  const lines = text.trim().split('\n');
  let last = lines.pop() ?? '';
  if ([...last.matchAll(PARAM)].length < 3) {
    lines.push(last);
    last = '';
  }
  const prompt: string[] = [];
  const negative: string[] = [];
  let doneWithPrompt = false;
  for (const raw of lines) {
    let line = raw.trim();
    if (line.startsWith('Negative prompt:')) {
      doneWithPrompt = true;
      line = line.slice('Negative prompt:'.length).trim();
    }
    (doneWithPrompt ? negative : prompt).push(line);
  }
  const result: Record<string, string> = {
    Prompt: prompt.join('\n'),
    'Negative prompt': negative.join('\n'),
  };
  for (const [, key, raw] of last.matchAll(PARAM)) {
    let value = raw;
    if (value.length > 1 && value.startsWith('"') && value.endsWith('"')) {
      try {
        value = JSON.parse(value) as string;
      } catch {
        // A1111 keeps what it cannot unquote as it is.
      }
    }
    const size = IMAGE_SIZE.exec(value);
    if (size) {
      result[`${key}-1`] = size[1];
      result[`${key}-2`] = size[2];
    } else {
      result[key] = value;
    }
  }
  result['Clip skip'] ??= '1';
  return result;
}
