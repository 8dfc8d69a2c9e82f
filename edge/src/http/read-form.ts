// Reads a multipart/form-data body (OpenAI's image edits and variations, file uploads), once, at
// the boundary, with the same size limit and counting as JSON bodies (read-json.ts), then lets
// the runtime's own multipart parser (workerd's FormData) split it. Text fields become strings,
// files their bytes, both keyed by the field name as sent; a repeated name keeps every value.
import type { Context } from 'hono';
import { ApiError } from './api-error.ts';
import { readLimited } from './read-json.ts';

const FORM_MEDIA_TYPE = /^multipart\/form-data\s*;/i;

export interface FormFile {
  name: string;
  type: string;
  bytes: Uint8Array;
}

export interface ReadForm {
  /** Text fields, first value of each name. */
  text: Record<string, string>;
  /** Files by field name, every value in order. */
  files: Record<string, FormFile[]>;
}

export async function readForm(c: Context, maxBytes: number): Promise<ReadForm> {
  const contentType = c.req.header('Content-Type') ?? '';
  if (!FORM_MEDIA_TYPE.test(contentType)) {
    throw new ApiError(
      415,
      'unsupported_media_type',
      `send the body as multipart/form-data${contentType ? `, not ${JSON.stringify(contentType.slice(0, 100))}` : ''}`,
    );
  }
  const bytes = await readLimited(c.req.raw, maxBytes);
  let form: FormData;
  try {
    form = await new Response(bytes, { headers: { 'Content-Type': contentType } }).formData();
  } catch (error) {
    throw new ApiError(
      400,
      'invalid_request',
      `the multipart body does not parse: ${(error as Error).message}`,
    );
  }
  const out: ReadForm = { text: {}, files: {} };
  for (const [name, value] of form.entries()) {
    if (typeof value === 'string') {
      if (!(name in out.text)) out.text[name] = value;
      continue;
    }
    const file = value as File;
    out.files[name] ??= [];
    out.files[name].push({
      name: file.name,
      type: file.type,
      bytes: new Uint8Array(await file.arrayBuffer()),
    });
  }
  return out;
}
