// Turns a zod failure into the one error shape both services answer with
// (`{"error": {"code", "message", "field"}}`): the message names the field, the value and the rule.
import type { z } from 'zod';

export interface FieldError {
  code: 'invalid_request';
  message: string;
  field?: string;
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
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
      message: `unknown field ${issue.keys.map((k) => `"${k}"`).join(', ')}`,
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
