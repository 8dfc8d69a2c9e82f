// `<lora:name:weight>` tags, as AUTOMATIC1111 reads them: removed from the text, weight 1 when
// absent, every tag kept in order; what A1111 would read differently is refused with the tag.
import { describe, expect, it } from 'vitest';
import { extractLoraTags } from '../src/prompt/extra-networks.ts';
import { PromptError } from '../src/prompt/prompt-errors.ts';

describe('extractLoraTags', () => {
  it('removes each tag from the text and reads name and weight', () => {
    expect(extractLoraTags('a cat <lora:ink-style:0.8>, (red:1.2) <lora:glow>')).toEqual({
      text: 'a cat , (red:1.2) ',
      loras: [
        { name: 'ink-style', weight: 0.8 },
        { name: 'glow', weight: 1 },
      ],
    });
  });

  it('reads lyco tags, negative and signed weights, names with spaces, and leaves other angle brackets', () => {
    expect(extractLoraTags('<lyco:My Style:-0.5> x <lora:b:+.25> 3 < 4 > 2').loras).toEqual([
      { name: 'My Style', weight: -0.5 },
      { name: 'b', weight: 0.25 },
    ]);
    expect(extractLoraTags('a <b> c').text).toBe('a <b> c');
  });

  it.each([
    ['<hypernet:anime:1>', /"hypernet" network, which is not supported/],
    ['<lora:a:0.5:1>', /separate text-encoder and UNet weights/],
    ['<lora:a:strong>', /weight "strong" in <lora:a:strong> is not a number/],
    ['<lora: :1>', /names no LoRA/],
  ])('refuses %s with a message naming it', (tag, message) => {
    expect(() => extractLoraTags(`a cat ${tag}`, 'prompt')).toThrow(PromptError);
    expect(() => extractLoraTags(`a cat ${tag}`, 'prompt')).toThrow(message);
  });
});
