// Turns a zod failure into the one error shape both services answer with
// (`{"error": {"code", "message", "field"}}`): the message names the field, the value and the rule.
import type { z } from 'zod';

export interface FieldError {
  code: 'invalid_request';
  message: string;
  field?: string;
}

/** Characters of a bad value a message shows. */
const SHOWN_CHARS = 60;
/** Unknown field names a message lists. */
const SHOWN_KEYS = 10;

/**
 * The start of `value` as JSON, at most about `room` characters. It walks only as far as it
 * writes, so its cost (and its depth of recursion, at most `room`) does not grow with the value:
 * `JSON.stringify` of a body nested a million levels deep overflows the stack, and of a 12 MB
 * string copies it whole, only for all but 60 characters to be cut.
 */
function jsonPrefix(value: unknown, room: number): string {
  if (typeof value === 'string') return JSON.stringify(value.slice(0, room));
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? String(value);
  const [open, close] = Array.isArray(value) ? ['[', ']'] : ['{', '}'];
  let text = open;
  const entries = Array.isArray(value) ? value.entries() : Object.entries(value).values();
  for (const [name, item] of entries) {
    if (text.length >= room) break;
    if (text.length > 1) text += ',';
    if (!Array.isArray(value)) text += `${JSON.stringify(String(name).slice(0, room))}:`;
    text += jsonPrefix(item, room - text.length);
  }
  return text + close;
}

/** A bad value for a message: JSON, cut to 60 characters with "..." when longer. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = jsonPrefix(value, SHOWN_CHARS + 1);
  return text.length > SHOWN_CHARS ? `${text.slice(0, SHOWN_CHARS - 3)}...` : text;
}

function fieldPath(path: readonly PropertyKey[]): string | undefined {
  if (path.length === 0) return undefined;
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i > 0 ? '.' : ''}${String(p)}`)).join('');
}

/** The first issue of a failed parse, as a user-facing field error. */
export function toFieldError(error: z.ZodError): FieldError {
  const issue = error.issues[0];
  const field = fieldPath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    return {
      code: 'invalid_request',
      message: `unknown field ${issue.keys.slice(0, SHOWN_KEYS).map(describeValue).join(', ')}${issue.keys.length > SHOWN_KEYS ? ` and ${issue.keys.length - SHOWN_KEYS} more` : ''}`,
    };
  }
  const subject = field ?? 'body';
  if (issue.code === 'invalid_type' && issue.input === undefined) {
    return { code: 'invalid_request', message: `${subject} is required (${issue.expected})`, field };
  }
  const got = 'input' in issue ? `; got ${describeValue(issue.input)}` : '';
  return { code: 'invalid_request', message: `${subject}: ${issue.message}${got}`, field };
}

/** `schema.safeParse` with the input recorded on each issue, so messages can show the value. */
export function parseWith<T extends z.ZodType>(
  schema: T,
  input: unknown,
): { success: true; data: z.output<T> } | { success: false; error: FieldError } {
  const result = schema.safeParse(input, { reportInput: true });
  return result.success
    ? { success: true, data: result.data }
    : { success: false, error: toFieldError(result.error) };
}
