// What the fake Discord API checks in a body, after discord-api-docs: a message
// (resources/message.mdx: content 2000, 10 embeds, 6000 characters of embed text; components/
// reference.mdx: action rows of at most 5 buttons, custom_id 1-100 characters and unique, link
// buttons with a url and no custom_id; reference.mdx "Uploading Files": `attachments` of ids and
// filenames, embed images from an http(s) URL or `attachment://<file>` of a jpg, jpeg, png, webp
// or gif) and an application command (interactions/application-commands.mdx: naming rule,
// description 1-100, at most 25 options and choices).
import { z } from 'zod';

const ActionButton = z.strictObject({
  type: z.literal(2),
  style: z.union([z.literal(1), z.literal(2), z.literal(3), z.literal(4)]),
  label: z.string().min(1).max(80),
  custom_id: z.string().min(1).max(100),
  disabled: z.boolean().optional(),
});
const LinkButton = z.strictObject({
  type: z.literal(2),
  style: z.literal(5),
  label: z.string().min(1).max(80),
  url: z.url({ protocol: /^https?$/ }),
});
const ActionRow = z.strictObject({
  type: z.literal(1),
  components: z
    .array(z.union([ActionButton, LinkButton]))
    .min(1)
    .max(5),
});
/** The file an `attachment://` URL names, or undefined for another URL. */
export function attachmentName(url: string): string | undefined {
  return url.startsWith('attachment://') ? url.slice('attachment://'.length) : undefined;
}

const ImageUrl = z
  .string()
  .refine(
    (url) =>
      (/^https?:\/\//.test(url) && URL.canParse(url)) ||
      /^attachment:\/\/[^/\s]+\.(jpg|jpeg|png|webp|gif)$/i.test(url),
    { error: 'must be an http(s) URL, or attachment:// and the name of a jpg, jpeg, png, webp or gif file' },
  );

/** An attachment to keep (its snowflake) or a new upload (the n of its `files[n]` part). */
const Attachment = z.strictObject({
  id: z.union([z.string().regex(/^\d+$/), z.int().min(0)]),
  filename: z.string().min(1).max(1024).optional(),
  description: z.string().max(1024).optional(),
});

const Embed = z.strictObject({
  title: z.string().max(256).optional(),
  url: z.url().optional(),
  description: z.string().max(4096).optional(),
  color: z.int().min(0).max(0xffffff).optional(),
  fields: z
    .array(
      z.strictObject({
        name: z.string().min(1).max(256),
        value: z.string().min(1).max(1024),
        inline: z.boolean().optional(),
      }),
    )
    .max(25)
    .optional(),
  image: z.strictObject({ url: ImageUrl }).optional(),
  footer: z.strictObject({ text: z.string().max(2048) }).optional(),
});
const MessageBody = z.strictObject({
  content: z.string().max(2000).optional(),
  embeds: z.array(Embed).max(10).optional(),
  components: z.array(ActionRow).max(5).optional(),
  allowed_mentions: z.strictObject({ parse: z.array(z.enum(['roles', 'users', 'everyone'])) }).optional(),
  flags: z.int().optional(),
  attachments: z.array(Attachment).max(10).optional(),
});
export type CheckedMessage = z.output<typeof MessageBody>;

/** What Discord would refuse in a message body, and the message when its shape is right. */
export function checkMessage(body: unknown): { problems: string[]; message?: CheckedMessage } {
  const parsed = MessageBody.safeParse(body);
  if (!parsed.success) {
    return { problems: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) };
  }
  const message = parsed.data;
  const problems: string[] = [];
  const embedText = (message.embeds ?? []).reduce(
    (sum, e) =>
      sum +
      (e.title?.length ?? 0) +
      (e.description?.length ?? 0) +
      (e.footer?.text.length ?? 0) +
      (e.fields ?? []).reduce((n, f) => n + f.name.length + f.value.length, 0),
    0,
  );
  if (embedText > 6000) problems.push(`embeds: ${embedText} characters of text, above 6000`);
  const ids = (message.components ?? []).flatMap((row) =>
    row.components.flatMap((c) => ('custom_id' in c ? [c.custom_id] : [])),
  );
  if (new Set(ids).size !== ids.length) problems.push('components: custom_ids are not unique');
  if (
    message.content === undefined &&
    !message.embeds?.length &&
    !message.components?.length &&
    !message.attachments?.length
  ) {
    problems.push('empty message');
  }
  return { problems, message };
}

const CommandOption = z
  .object({
    type: z.int().min(1).max(11),
    name: z.string().regex(/^[-_\p{L}\p{N}]{1,32}$/u),
    description: z.string().min(1).max(100),
    required: z.boolean().optional(),
    choices: z
      .array(
        z.object({ name: z.string().min(1).max(100), value: z.union([z.string().max(100), z.number()]) }),
      )
      .max(25)
      .optional(),
    autocomplete: z.boolean().optional(),
  })
  .refine((o) => !(o.autocomplete && o.choices), { error: 'an autocomplete option cannot have choices' });
const Command = z.object({
  name: z.string().regex(/^[-_\p{Ll}\p{N}]{1,32}$/u),
  type: z.literal(1),
  description: z.string().min(1).max(100),
  options: z.array(CommandOption).max(25).optional(),
});

/** A bulk overwrite: at most 100 chat-input commands. */
export const Commands = z.array(Command).max(100);
