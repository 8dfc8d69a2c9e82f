// The Hugging Face CLIP tokenizer in JavaScript (transformers.js 4.x `CLIPTokenizer`, whose engine
// is @huggingface/tokenizers), built offline from the same vocab.json and merges.txt as ours.
// `clipTokenizerJson` mirrors openai/clip-vit-large-patch14's tokenizer.json field by field;
// the config mirrors its tokenizer_config.json (SD 1.x), or stabilityai/stable-diffusion-2's
// `pad_token: "!"` (SD 2.x). Nothing is fetched: the tokenizer is constructed from objects.
import { CLIPTokenizer, env, LogLevel } from '@huggingface/transformers';

// No hub, no local model folder: a stray from_pretrained would fail instead of downloading.
env.allowRemoteModels = false;
env.allowLocalModels = false;
env.logLevel = LogLevel.ERROR;

const START_OF_TEXT = '<|startoftext|>';
const END_OF_TEXT = '<|endoftext|>';

// openai/clip-vit-large-patch14 tokenizer.json: the Split pattern is simple_tokenizer.py's, without
// IGNORECASE (the normalizer has lower-cased the text already).
const CLIP_SPLIT =
  "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+";

/** The tokenizer.json object, from a vocab.json text and a merges.txt text. */
export function clipTokenizerJson(vocabJson: string, mergesTxt: string): Record<string, unknown> {
  const merges = mergesTxt.split('\n').filter((line) => line.length > 0 && !line.startsWith('#version'));
  const special = (id: number, content: string, normalized: boolean) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized,
    special: true,
  });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(49406, START_OF_TEXT, true), special(49407, END_OF_TEXT, false)],
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'NFC' },
        { type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' },
        { type: 'Lowercase' },
      ],
    },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: CLIP_SPLIT }, behavior: 'Removed', invert: true },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: {
      type: 'RobertaProcessing',
      sep: [END_OF_TEXT, 49407],
      cls: [START_OF_TEXT, 49406],
      trim_offsets: false,
      add_prefix_space: false,
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: END_OF_TEXT,
      continuing_subword_prefix: '',
      end_of_word_suffix: '</w>',
      fuse_unk: false,
      byte_fallback: false,
      vocab: JSON.parse(vocabJson) as Record<string, number>,
      merges,
    },
  };
}

/** tokenizer_config.json: SD 1.x pads with `<|endoftext|>`, SD 2.x with `!`. */
export function clipTokenizerConfig(padToken: string): Record<string, unknown> {
  return {
    tokenizer_class: 'CLIPTokenizer',
    add_prefix_space: false,
    do_lower_case: true,
    errors: 'replace',
    model_max_length: 77,
    bos_token: START_OF_TEXT,
    eos_token: END_OF_TEXT,
    unk_token: END_OF_TEXT,
    pad_token: padToken,
  };
}

export function createHfClipTokenizer(
  tokenizerJson: Record<string, unknown>,
  padToken = END_OF_TEXT,
): CLIPTokenizer {
  return new CLIPTokenizer(tokenizerJson, clipTokenizerConfig(padToken));
}

/** The 77 model input ids, as diffusers asks for them: padding to max_length, truncation. */
export function hfModelInput(tokenizer: CLIPTokenizer, text: string): number[] {
  return tokenizer(text, { padding: 'max_length', max_length: 77, truncation: true, return_tensor: false })
    .input_ids;
}
