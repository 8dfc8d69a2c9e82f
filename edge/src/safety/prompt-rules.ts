// The prompt policy's rules as configured: PROMPT_RULES (per model id, "*" for models without an
// entry of their own) and a Discord server's `prompt_rules`. Parsed with the rest of the edge's
// configuration, once per isolate: terms are normalized the way prompts are, patterns compiled,
// and a pattern that does not compile, or that could backtrack catastrophically, is a
// configuration error naming the rule, before any request is answered.
import { z } from 'zod';
import { backtrackingRisk } from './backtracking-risk.ts';
import { normalizePromptText } from './normalize-prompt.ts';

/** Enough for real lists; bounded so a prompt's check stays a few microseconds per rule. */
const MAX_RULES = 100;
const MAX_ENTRIES = 1000;
const MAX_PATTERN_CHARS = 200;

/** The model key whose rules apply to every model without its own entry. */
export const DEFAULT_RULES_KEY = '*';

export interface CompiledRule {
  name: string;
  /** Normalized (normalize-prompt.ts): lowercase words separated by single spaces. */
  terms: string[];
  /** Matched against normalized prompts. */
  patterns: RegExp[];
}

const pattern = z
  .string()
  .min(1)
  .max(MAX_PATTERN_CHARS)
  .transform((source, ctx) => {
    let compiled: RegExp;
    try {
      compiled = new RegExp(source, 'iu');
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: `${JSON.stringify(source)} is not a valid regex: ${error}` });
      return z.NEVER;
    }
    const risk = backtrackingRisk(source);
    if (risk) {
      ctx.addIssue({
        code: 'custom',
        message: `${JSON.stringify(source)} is refused: ${risk}; rewrite it without a repeated group that repeats or alternates`,
      });
      return z.NEVER;
    }
    return compiled;
  });

const term = z
  .string()
  .min(1)
  .max(100)
  .transform((text, ctx) => {
    const normalized = normalizePromptText(text);
    if (!normalized) {
      ctx.addIssue({ code: 'custom', message: `${JSON.stringify(text)} has no letters or digits` });
      return z.NEVER;
    }
    return normalized;
  });

export const PromptRule = z
  .strictObject({
    /** Named in the refusal (`rule`), so keep it meaningful to the person refused. */
    name: z.string().regex(/^[\w.-]{1,64}$/, { error: 'letters, digits, _ . - (1-64)' }),
    /** Blocked words or phrases, matched on word boundaries of the normalized prompt. */
    terms: z.array(term).max(MAX_ENTRIES).default([]),
    /** Regexes (case-insensitive) over the normalized prompt: lowercase words, single spaces. */
    patterns: z.array(pattern).max(MAX_ENTRIES).default([]),
  })
  .refine((rule) => rule.terms.length + rule.patterns.length > 0, {
    error: 'a rule needs at least one term or pattern',
  });

export const PromptRules = z
  .array(PromptRule)
  .max(MAX_RULES)
  .refine((rules) => new Set(rules.map((r) => r.name)).size === rules.length, {
    error: 'rule names must be unique',
  });

/** Vars arrive as JSON values from wrangler.toml, or as JSON text from the dashboard and `.dev.vars`. */
function fromJsonText(value: unknown, ctx: z.RefinementCtx): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    ctx.addIssue({
      code: 'custom',
      message: 'must be JSON: {"<model id or *>": [{"name", "terms", "patterns"}]}',
    });
    return z.NEVER;
  }
}

/** PROMPT_RULES: rules by model id; "*" for every model without an entry of its own. */
export const PromptRulesByModel = z
  .preprocess(fromJsonText, z.record(z.string().regex(/^(\*|[A-Za-z0-9._-]{1,64})$/), PromptRules))
  .default({});

/** The rules a model's prompts are checked against. */
export function rulesForModel(
  byModel: Record<string, CompiledRule[]>,
  modelId: string,
): readonly CompiledRule[] {
  return byModel[modelId] ?? byModel[DEFAULT_RULES_KEY] ?? [];
}
