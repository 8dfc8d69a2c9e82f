/** What the rest of the code needs from a CLIP-style tokenizer; see clip-tokenizer.ts. */
export interface TextTokenizer {
  /** `<|startoftext|>` id (49406 for CLIP). */
  readonly bos: number;
  /** `<|endoftext|>` id (49407 for CLIP). */
  readonly eos: number;
  /** Padding id: EOS for SD 1.x, `!` = 0 for SD 2.x, read from the model's tokenizer files. */
  readonly pad: number;
  /** Model input length including BOS and EOS (77 for CLIP). */
  readonly maxLength: number;
  /** BPE ids of `text`, without BOS/EOS and not truncated. */
  encode(text: string): number[];
  /** Id of a vocabulary entry such as `,</w>`, or undefined. */
  tokenToId(token: string): number | undefined;
  /** Vocabulary entry of an id (byte-to-unicode form), or undefined. */
  idToToken(id: number): string | undefined;
}
