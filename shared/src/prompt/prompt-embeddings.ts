// Textual-inversion embeddings in a prompt, found the way AUTOMATIC1111 finds them
// (stable-diffusion-webui modules/textual_inversion/textual_inversion.py, commit 00e09382,
// EmbeddingDatabase.register_embedding / find_embedding_at_position): each embedding's name is
// tokenized like prompt text, and wherever the prompt's tokens carry that sequence, the
// embedding's vectors take its place. When two names start with the same token, the longer wins.
//
// The vectors travel as token ids past the vocabulary, as Hugging Face's `add_tokens` numbers
// added tokens: the first id after EOS (CLIP's last entry), embeddings in name order, each taking
// as many ids as it has vectors. The gpu-worker builds the same rows into its text encoder
// (gpu-worker/src/embeddings/), and the model revision, which covers `embeddings/`, keeps both
// sides on the same list.
import type { TextTokenizer } from '../tokenizer/text-tokenizer.ts';

export interface PromptEmbedding {
  /** File name without extension: what a prompt writes. */
  name: string;
  /** Vectors it inserts, i.e. prompt tokens it takes. */
  vectors: number;
}

export interface EmbeddingMatch {
  name: string;
  /** The ids that stand for its vectors. */
  ids: readonly number[];
  /** Prompt tokens its name took. */
  length: number;
}

export interface EmbeddingLookup {
  /** The embedding whose name starts at `tokens[position]`, or undefined. */
  find(tokens: readonly number[], position: number): EmbeddingMatch | undefined;
  /** The embedding a vector id belongs to, or undefined for a vocabulary id. */
  nameOf(id: number): string | undefined;
}

/** The first id after the vocabulary: CLIP vocabularies end with EOS. */
export function firstEmbeddingId(tokenizer: TextTokenizer): number {
  return tokenizer.eos + 1;
}

/** Embeddings sorted by name, as both processes number them. */
export function sortEmbeddings<T extends PromptEmbedding>(embeddings: readonly T[]): T[] {
  return [...embeddings].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export function embeddingLookup(
  tokenizer: TextTokenizer,
  embeddings: readonly PromptEmbedding[],
): EmbeddingLookup {
  const byFirstToken = new Map<number, { name: number[]; match: EmbeddingMatch }[]>();
  const names = new Map<number, string>();
  let next = firstEmbeddingId(tokenizer);
  for (const embedding of sortEmbeddings(embeddings)) {
    const ids = Array.from({ length: embedding.vectors }, (_, i) => next + i);
    next += embedding.vectors;
    for (const id of ids) names.set(id, embedding.name);
    const name = tokenizer.encode(embedding.name);
    if (name.length === 0) continue; // a name of spaces or punctuation the tokenizer drops: never matches
    const candidates = byFirstToken.get(name[0]) ?? [];
    candidates.push({ name, match: { name: embedding.name, ids, length: name.length } });
    candidates.sort((a, b) => b.name.length - a.name.length);
    byFirstToken.set(name[0], candidates);
  }
  return {
    find(tokens, position) {
      for (const { name, match } of byFirstToken.get(tokens[position]) ?? []) {
        if (name.every((id, i) => tokens[position + i] === id)) return match;
      }
      return undefined;
    },
    nameOf: (id) => names.get(id),
  };
}
