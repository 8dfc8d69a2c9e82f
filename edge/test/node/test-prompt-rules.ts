// PROMPT_RULES of the edge tests (vitest.config.ts), shared with the tests that meet them (no
// imports: both Node and workerd load this file). Words no other test's prompt uses.
export const TEST_RULE_NAME = 'test-forbidden';
export const TEST_BLOCKED_TERM = 'forbiddenword';
export const TEST_PATTERN_RULE_NAME = 'test-pattern';
/** Matched by TEST_BLOCKED_PATTERN (any number between "bad" and "thing"). */
export const TEST_PATTERN_EXAMPLE = 'bad 42 thing';
export const TEST_BLOCKED_PATTERN = '\\bbad \\d+ thing\\b';

export const TEST_PROMPT_RULES = {
  '*': [
    { name: TEST_RULE_NAME, terms: [TEST_BLOCKED_TERM] },
    { name: TEST_PATTERN_RULE_NAME, patterns: [TEST_BLOCKED_PATTERN] },
  ],
};
