// The describer behind every 400's "got …": it shows the start of the bad value and must cost
// no more than that, whatever the value (a body may hold one value nested a million levels deep).
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { describeValue, parseWith } from '../src/protocol/validation-error.ts';

function nestedArrays(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

describe('describeValue', () => {
  it('writes short values as JSON', () => {
    expect(describeValue('20')).toBe('"20"');
    expect(describeValue([1, 'a', null])).toBe('[1,"a",null]');
    expect(describeValue({ a: { b: true } })).toBe('{"a":{"b":true}}');
    expect(describeValue(undefined)).toBe('nothing');
  });

  it('cuts long values to 60 characters with a marker', () => {
    const text = describeValue('x'.repeat(10_000));
    expect(text).toBe(`"${'x'.repeat(56)}...`);
    expect(describeValue(Array.from({ length: 10_000 }, (_, i) => i))).toHaveLength(60);
  });

  it('describes a value nested a million levels deep (JSON.stringify overflows the stack)', () => {
    const deep = nestedArrays(1_000_000);
    expect(() => JSON.stringify(deep)).toThrow(RangeError);
    expect(describeValue(deep)).toBe(`${'['.repeat(57)}...`);
  });
});

describe('parseWith', () => {
  it('answers a field error, not a thrown RangeError, for a deeply nested wrong value', () => {
    const result = parseWith(z.strictObject({ steps: z.int() }), { steps: nestedArrays(1_000_000) });
    expect(result.success).toBe(false);
    if (!result.success) {
      expect(result.error.field).toBe('steps');
      expect(result.error.message).toContain('got [[[[');
    }
  });

  it('lists at most ten unknown fields, each cut short', () => {
    const body = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`${'k'.repeat(100)}${i}`, i]));
    const result = parseWith(z.strictObject({}), body);
    expect(result.success).toBe(false);
    if (!result.success) {
      expect(result.error.message).toMatch(/^unknown field "k+\.\.\., /);
      expect(result.error.message).toMatch(/ and 4990 more$/);
      expect(result.error.message.length).toBeLessThan(1000);
    }
  });
});
