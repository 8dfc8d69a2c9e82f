// The prompt policy: a prompt and its negative prompt, normalized, checked against the rules for
// the model (PROMPT_RULES) and, for Discord, the server's own. The first rule matched refuses the
// request with 400 `prompt_blocked`, naming the rule and the field; the refusal never echoes the
// matched words back. Pure: the rules are compiled by prompt-rules.ts at configuration load.
import { ApiError } from '../http/api-error.ts';
import { type PromptForms, promptForms } from './normalize-prompt.ts';
import type { CompiledRule } from './prompt-rules.ts';

/** Whether `rule` matches a prompt in its normalized forms. */
function matches(rule: CompiledRule, forms: PromptForms): boolean {
  const words = ` ${forms.words} `;
  for (const term of rule.terms) {
    if (words.includes(` ${term} `)) return true;
    const together = term.replaceAll(' ', '');
    if (forms.spelledOut.some((run) => run.includes(together))) return true;
  }
  return rule.patterns.some((pattern) => pattern.test(forms.words) || pattern.test(forms.joined));
}

/** The first of `rules` that `text` matches, or undefined. */
export function matchedRule(rules: readonly CompiledRule[], text: string): CompiledRule | undefined {
  if (rules.length === 0 || text === '') return undefined;
  const forms = promptForms(text);
  return rules.find((rule) => matches(rule, forms));
}

export interface PolicyPrompts {
  prompt: string;
  negative_prompt: string;
}

/** Refuses (400 `prompt_blocked`) when either prompt matches one of `rules`. */
export function checkPromptPolicy(rules: readonly CompiledRule[], prompts: PolicyPrompts): void {
  for (const field of ['prompt', 'negative_prompt'] as const) {
    const rule = matchedRule(rules, prompts[field]);
    if (rule) {
      throw new ApiError(
        400,
        'prompt_blocked',
        `${field}: refused by the prompt policy (rule "${rule.name}")`,
        { field, rule: rule.name },
      );
    }
  }
}
