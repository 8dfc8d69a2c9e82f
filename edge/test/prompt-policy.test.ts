// The prompt policy's pure parts: normalization folds the trivial evasions of a blocked term
// (case, full width, accents, invisible characters, lookalike letters, spelled-out words, HTML
// entities, attention syntax), terms match on word boundaries only, and a pattern that could
// backtrack catastrophically is refused when the configuration loads, naming the variable.
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { edgeConfig } from '../src/config/edge-config.ts';
import { ApiError } from '../src/http/api-error.ts';
import { normalizePromptText } from '../src/safety/normalize-prompt.ts';
import { checkPromptPolicy, matchedRule } from '../src/safety/prompt-policy.ts';
import { PromptRules, PromptRulesByModel } from '../src/safety/prompt-rules.ts';

const rules = PromptRules.parse([
  { name: 'nudity', terms: ['nude', 'bare skin'] },
  { name: 'gore', patterns: ['\\bblood(y|ied)?\\b', '\\bgor[ey]\\b'] },
]);

const ruleFor = (text: string) => matchedRule(rules, text)?.name;

describe('prompt normalization', () => {
  it('folds case, width, accents, lookalikes and invisible characters to plain lowercase words', () => {
    expect(normalizePromptText('  A  ＲＥＤ,  Cîrclé! ')).toBe('a red circle');
    expect(normalizePromptText('n\u200bu\u00add\u2060e')).toBe('nude');
    // Cyrillic а, е, о and Greek ο drawn as Latin letters.
    expect(normalizePromptText('n\u0430k\u0435d r\u03bfb\u043e')).toBe('naked robo');
    expect(normalizePromptText('𝐍𝐔𝐃𝐄 ⓝⓤⓓⓔ')).toBe('nude nude');
  });

  for (const [evasion, text] of [
    ['plain', 'a nude figure'],
    ['upper case', 'A NUDE FIGURE'],
    ['full width', 'a ｎｕｄｅ figure'],
    ['accents', 'a nüdé figure'],
    ['zero-width space', 'a nu\u200bde figure'],
    ['zero-width joiner and soft hyphen', 'a n\u200du\u00adde figure'],
    ['Cyrillic lookalike', 'a nud\u0435 figure'],
    ['mathematical letters', 'a 𝓃𝓊𝒹𝑒 figure'],
    ['spelled out', 'a n u d e figure'],
    ['spelled out with dots', 'n.u.d.e'],
    ['spelled out with dashes', 'x n-u-d-e y'],
    ['HTML entity', 'a nud&#101; figure'],
    ['attention syntax', '((nude:1.4)), figure'],
    ['underscore tag', 'nude_figure'],
    ['phrase with other spacing', 'lots of BARE   skin'],
  ] as const) {
    it(`blocks a term written with ${evasion}`, () => {
      expect(ruleFor(text)).toBe('nudity');
    });
  }

  it('matches terms on word boundaries only', () => {
    expect(ruleFor('a denuded hillside')).toBeUndefined();
    expect(ruleFor('nudes')).toBeUndefined();
    expect(ruleFor('bare skinny tree')).toBeUndefined();
    expect(ruleFor('a red circle on a blue background')).toBeUndefined();
  });

  it('matches patterns against the normalized text', () => {
    expect(ruleFor('BLOODIED knight')).toBe('gore');
    expect(ruleFor('b l o o d y')).toBe('gore');
    expect(ruleFor('gόre')).toBe('gore');
    expect(ruleFor('bloodhound')).toBeUndefined();
  });
});

describe('prompt refusal', () => {
  it('is a 400 prompt_blocked naming the rule and the field, for either prompt', () => {
    for (const field of ['prompt', 'negative_prompt'] as const) {
      const prompts = { prompt: 'a red circle', negative_prompt: 'blurry', [field]: 'so much gore' };
      const error = (() => {
        try {
          checkPromptPolicy(rules, prompts);
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(ApiError);
      const body = (error as ApiError).toJSON().error;
      expect((error as ApiError).status).toBe(400);
      expect(body).toEqual({
        code: 'prompt_blocked',
        message: `${field}: refused by the prompt policy (rule "gore")`,
        field,
        rule: 'gore',
      });
    }
    expect(() => checkPromptPolicy(rules, { prompt: 'a red circle', negative_prompt: '' })).not.toThrow();
  });
});

describe('prompt rule configuration', () => {
  const refusal = (patterns: string[]) => {
    const result = PromptRules.safeParse([{ name: 'r', patterns }]);
    return result.success ? undefined : result.error.issues[0].message;
  };

  for (const pattern of ['(a+)+$', '(a*)*b', '(a|ab)*c', '(\\w+\\s?)+$', '(?:x+y?){2,}', '((ab)*)+']) {
    it(`refuses ${pattern}, which backtracks catastrophically`, () => {
      expect(refusal([pattern])).toMatch(/nested quantifiers backtrack exponentially/);
    });
  }

  it('refuses backreferences and patterns that do not compile', () => {
    expect(refusal(['(a)\\1'])).toMatch(/backreference/);
    expect(refusal(['(unclosed'])).toMatch(/not a valid regex/);
  });

  it('accepts patterns without nested repetition', () => {
    for (const pattern of [
      '\\bbad \\d+ thing\\b',
      '(?:ab)+c',
      '(colou?r)s?',
      'x{2,5}y',
      '[(+*)]+',
      '\\p{L}+ing',
    ]) {
      expect(refusal([pattern]), pattern).toBeUndefined();
    }
  });

  it('reads PROMPT_RULES as JSON text, as the dashboard and .dev.vars give it', () => {
    const parsed = PromptRulesByModel.parse(JSON.stringify({ '*': [{ name: 'x', terms: ['Nüde'] }] }));
    expect(parsed['*'][0].terms).toEqual(['nude']);
    expect(PromptRulesByModel.parse(undefined)).toEqual({});
  });

  it('stops the edge with a configuration error naming PROMPT_RULES, before any request is served', () => {
    const bad = (PROMPT_RULES: unknown) => {
      try {
        edgeConfig({ ...env, PROMPT_RULES } as Env);
      } catch (error) {
        return error as ApiError;
      }
    };
    const backtracking = bad({ '*': [{ name: 'slow', patterns: ['(a+)+$'] }] });
    expect(backtracking?.status).toBe(500);
    expect(backtracking?.code).toBe('misconfigured');
    expect(backtracking?.message).toMatch(/^edge configuration: PROMPT_RULES\.\*\.0\.patterns\.0: /);
    expect(bad({ 'no-such-model': [{ name: 'x', terms: ['y'] }] })?.message).toMatch(
      /PROMPT_RULES\.no-such-model: "no-such-model" is not one of MODELS' ids/,
    );
    expect(bad({ '*': [{ name: 'empty' }] })?.message).toMatch(/at least one term or pattern/);
  });
});
