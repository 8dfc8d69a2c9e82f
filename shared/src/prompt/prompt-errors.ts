// Errors a user's prompt can cause. They all extend PromptError so each HTTP layer needs one
// `instanceof PromptError` check to answer 400 with the message, which is written for the user.

/** A prompt the service cannot accept; the message says what is wrong and how to fix it. */
export class PromptError extends Error {
  override readonly name: string = 'PromptError';
}

/** `(text:weight)` whose weight matched A1111's pattern but is not a number, e.g. `(cat:1.2.3)`. */
export class PromptWeightError extends PromptError {
  override readonly name: string = 'PromptWeightError';

  constructor(
    /** The weight as written, e.g. `1.2.3`. */
    readonly weight: string,
  ) {
    super(`the attention weight "${weight}" is not a number: write a weight like (word:1.2)`);
  }
}

/** A prompt that needs more than `maxChunks` chunks of `chunkLength` tokens. */
export class PromptTooLongError extends PromptError {
  override readonly name: string = 'PromptTooLongError';
  /** Token budget, `maxChunks * chunkLength` (225 by default). */
  readonly limit: number;

  constructor(
    /** Which request field held the prompt, e.g. `prompt` or `negativePrompt`. */
    readonly field: string,
    /** Prompt tokens, without BOS, EOS or padding. */
    readonly tokenCount: number,
    /** Chunks the prompt needs once BREAK and comma backtracking are applied. */
    readonly chunkCount: number,
    readonly maxChunks: number,
    readonly chunkLength: number,
  ) {
    const limit = maxChunks * chunkLength;
    const fits = tokenCount <= limit;
    super(
      `${field} is too long: it has ${tokenCount} tokens, which take ${chunkCount} chunks of ` +
        `${chunkLength} tokens${fits ? ' once BREAK and comma boundaries are applied' : ''}, ` +
        `but at most ${maxChunks} chunks (${limit} tokens) are allowed; shorten it` +
        `${fits ? ' or remove a BREAK' : ''}`,
    );
    this.limit = limit;
  }
}

/** Emphasis whose weight, nested brackets multiplied out, lies outside ±`limit`, e.g. `(boat:20)`. */
export class PromptWeightRangeError extends PromptError {
  override readonly name: string = 'PromptWeightRangeError';

  constructor(
    /** Which request field held the prompt, e.g. `prompt` or `negative_prompt`. */
    readonly field: string,
    /** The weight as applied, e.g. 20, or 1.1^25 for 25 nested `( )`. */
    readonly weight: number,
    /** The text the weight applies to. */
    readonly text: string,
    /** Largest weight of either sign, LIMITS.maxAttentionWeight. */
    readonly limit: number,
  ) {
    super(
      `${field}: the attention weight ${formatWeight(weight, limit)} on "${excerpt(text)}" is outside ` +
        `the range this service allows, -${limit} to ${limit} (nested brackets multiply their weights: ` +
        `each ( ) is ×1.1)`,
    );
  }
}

/** Four significant digits (1.1^25 shows as 10.83), unless rounding would bring it into range. */
function formatWeight(weight: number, limit: number): string {
  const rounded = Number(weight.toPrecision(4));
  return Math.abs(rounded) > limit ? String(rounded) : String(weight);
}

/** The text, trimmed and cut to 40 characters, so a message quoting it stays short. */
function excerpt(text: string): string {
  const characters = [...text.trim()];
  return characters.length > 40 ? `${characters.slice(0, 39).join('')}…` : characters.join('');
}
