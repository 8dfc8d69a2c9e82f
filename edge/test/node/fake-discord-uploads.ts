// How the fake Discord API reads a message with files, after discord-api-docs `reference.mdx`
// ("Uploading Files", "Editing Message Attachments"): a multipart/form-data body whose
// `payload_json` part holds the message and whose `files[n]` parts hold the files, each with a
// filename in its Content-Disposition and a Content-Type; `attachments` lists each new file by the
// n of its part (with the same filename) and each existing attachment to keep by its id; on an
// edit, attachments left out are removed. Embeds may show an attached file as
// `attachment://<filename>`. The only files the edge sends are images, so each must be the image
// its name says (a WebP: RIFF....WEBP; a PNG: its signature) and within Discord's size limit.
import { attachmentName, type CheckedMessage } from './fake-discord-shapes.ts';

/** The interactions the tests send allow 10 MiB per file (attachment_size_limit). */
const MAX_FILE_BYTES = 10 * 1024 * 1024;

export interface UploadedFile {
  /** The form part: `files[n]`. */
  field: string;
  filename: string;
  content_type: string;
  size: number;
  /** The bytes, base64, for tests that decode them. */
  base64: string;
}

/** An attachment as a message keeps it. */
export interface StoredAttachment {
  id: string;
  filename: string;
  size: number;
  content_type: string;
}

const ascii = (bytes: Uint8Array, from: number, to: number) =>
  String.fromCharCode(...bytes.subarray(from, to));
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

const IMAGE_TYPES: Record<string, { contentType: string; is: (bytes: Uint8Array) => boolean }> = {
  webp: {
    contentType: 'image/webp',
    is: (bytes) => ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 12) === 'WEBP',
  },
  png: { contentType: 'image/png', is: (bytes) => PNG_SIGNATURE.every((b, i) => bytes[i] === b) },
};

function fileProblems(file: UploadedFile, bytes: Uint8Array): string[] {
  const problems: string[] = [];
  if (!file.content_type) problems.push(`${file.field}: the part has no Content-Type`);
  if (file.size > MAX_FILE_BYTES) problems.push(`${file.field}: ${file.size} bytes, above ${MAX_FILE_BYTES}`);
  const extension = /\.([a-z0-9]+)$/i.exec(file.filename)?.[1]?.toLowerCase() ?? '';
  const type = IMAGE_TYPES[extension];
  if (!type) {
    problems.push(`${file.field}: "${file.filename}" is not a WebP or PNG file name`);
  } else {
    if (!type.is(bytes)) problems.push(`${file.field}: "${file.filename}" is not a ${extension} file`);
    if (file.content_type !== type.contentType) {
      problems.push(`${file.field}: Content-Type ${file.content_type} for "${file.filename}"`);
    }
  }
  return problems;
}

/** The message and files of a multipart/form-data body; what is wrong goes to `problems`. */
export async function readMultipart(
  contentType: string,
  body: Uint8Array,
  problems: string[],
): Promise<{ payload: unknown; files: Map<string, UploadedFile> }> {
  const files = new Map<string, UploadedFile>();
  if (!/^multipart\/form-data;\s*boundary=/i.test(contentType)) {
    problems.push(`Content-Type must be multipart/form-data with a boundary, not ${contentType}`);
    return { payload: undefined, files };
  }
  let form: FormData;
  try {
    form = await new Response(body as Uint8Array<ArrayBuffer>, {
      headers: { 'Content-Type': contentType },
    }).formData();
  } catch {
    problems.push('the body is not valid multipart/form-data');
    return { payload: undefined, files };
  }
  let payload: unknown;
  const names = new Set<string>();
  const parts: [string, FormDataEntryValue][] = [];
  form.forEach((value, name) => {
    parts.push([name, value]);
  });
  for (const [name, value] of parts) {
    if (names.has(name)) problems.push(`the form has two parts named "${name}"`);
    names.add(name);
    if (name === 'payload_json') {
      try {
        payload = JSON.parse(typeof value === 'string' ? value : await value.text());
      } catch {
        problems.push('payload_json is not JSON');
      }
      continue;
    }
    const n = /^files\[(\d+)\]$/.exec(name)?.[1];
    if (n === undefined) {
      problems.push(`the form part "${name}" is neither payload_json nor files[n]`);
    } else if (typeof value === 'string' || !value.name) {
      problems.push(`${name}: the part has no filename in its Content-Disposition`);
    } else {
      const bytes = new Uint8Array(await value.arrayBuffer());
      const file: UploadedFile = {
        field: name,
        filename: value.name,
        content_type: value.type,
        size: bytes.length,
        base64: Buffer.from(bytes).toString('base64'),
      };
      problems.push(...fileProblems(file, bytes));
      files.set(n, file);
    }
  }
  if (!names.has('payload_json')) problems.push('the form has no payload_json part');
  return { payload, files };
}

/**
 * The attachments the message has after this call, given those it had; `attachments` absent
 * keeps them all. Checks that each listed id is a new file or one the message has, that every
 * file is listed, and that every `attachment://` URL names a file the message will have.
 */
export function attachmentsAfter(
  message: CheckedMessage,
  files: ReadonlyMap<string, UploadedFile>,
  existing: readonly StoredAttachment[],
  newId: () => string,
  problems: string[],
): StoredAttachment[] {
  let after = [...existing];
  if (message.attachments) {
    after = [];
    message.attachments.forEach((attachment, i) => {
      const id = String(attachment.id);
      const file = files.get(id);
      const kept = existing.find((a) => a.id === id);
      if (file) {
        if (attachment.filename !== undefined && attachment.filename !== file.filename) {
          problems.push(
            `attachments.${i}.filename: "${attachment.filename}" but files[${id}] is "${file.filename}"`,
          );
        }
        after.push({
          id: newId(),
          filename: file.filename,
          size: file.size,
          content_type: file.content_type,
        });
      } else if (kept) {
        after.push(kept);
      } else {
        problems.push(
          `attachments.${i}.id: ${id} is neither a files[${id}] part nor an attachment of the message`,
        );
      }
    });
  }
  const listed = new Set((message.attachments ?? []).map((a) => String(a.id)));
  for (const n of files.keys()) {
    if (!listed.has(n)) problems.push(`files[${n}] is not listed in attachments, so Discord drops it`);
  }
  (message.embeds ?? []).forEach((embed, i) => {
    const name = attachmentName(embed.image?.url ?? '');
    if (name !== undefined && !after.some((a) => a.filename === name)) {
      problems.push(`embeds.${i}.image.url: attachment://${name} names no attachment of the message`);
    }
  });
  return after;
}
