// The infotext both ways: what formatInfotext writes, parseInfotext reads back as A1111's
// parse_generation_parameters does (modules/infotext_utils.py): values as strings, Size split.
import { describe, expect, it } from 'vitest';
import { formatInfotext, parseInfotext } from '../src/infotext.ts';

describe('parseInfotext', () => {
  it('reads back what formatInfotext writes, quoted values unquoted and Size split', () => {
    const text = formatInfotext({
      prompt: 'a castle, (oil painting:1.2)\nsecond line',
      negativePrompt: 'fog',
      steps: 8,
      scheduler: 'dpmpp_2m_karras',
      guidanceScale: 5,
      seed: 1234,
      width: 64,
      height: 96,
      model: 'tiny-sd',
      modelHash: 'ec9c825edc',
      loras: [{ name: 'ink', sha256: 'ab'.repeat(32) }],
    });
    expect(parseInfotext(text)).toEqual({
      Prompt: 'a castle, (oil painting:1.2)\nsecond line',
      'Negative prompt': 'fog',
      Steps: '8',
      Sampler: 'DPM++ 2M Karras',
      'CFG scale': '5',
      Seed: '1234',
      'Size-1': '64',
      'Size-2': '96',
      'Model hash': 'ec9c825edc',
      Model: 'tiny-sd',
      'Lora hashes': `ink: ${'ab'.repeat(6)}`,
      'Clip skip': '1',
    });
  });

  it('takes a last line of fewer than 3 pairs as prompt text', () => {
    expect(parseInfotext('a cat\nStyle: ink, Mood: calm')).toEqual({
      Prompt: 'a cat\nStyle: ink, Mood: calm',
      'Negative prompt': '',
      'Clip skip': '1',
    });
  });

  it("keeps A1111's own keys it writes, such as Clip skip", () => {
    const parsed = parseInfotext('x\nSteps: 20, Sampler: Euler a, Clip skip: 2, Size: 512x768');
    expect(parsed).toMatchObject({ Prompt: 'x', Sampler: 'Euler a', 'Clip skip': '2', 'Size-2': '768' });
  });
});
