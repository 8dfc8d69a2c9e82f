// The message a finished job leaves in Discord: an embed per image showing our permanent image URL
// (/i/<key>.png, immutable, so Discord's media proxy may cache it forever; SD-NOTES §5.4), the
// prompt and every parameter, and the buttons. One image: Re-roll, Variations, Same seed, Share
// (a link to /p/<key>, which sends no interaction) and Delete, and Zoom out in a second row
// (at most 5 buttons to a row, 5 rows to a message; SD-NOTES §5.5). Variations' four images share
// one embed URL, which Discord shows as one gallery, with a Same seed, a Share and a Zoom out
// button for each image.
// Mentions are shown, never pinged. Limits: content 2000, embed description 4096, field 1024,
// all embed text 6000 (discord-api-docs `resources/message.mdx`), which the prompt limits keep.
import type {
  APIActionRowComponent,
  APIButtonComponent,
  APIButtonComponentWithCustomId,
  APIEmbed,
  APIEmbedField,
  RESTPatchAPIWebhookWithTokenMessageJSONBody,
} from 'discord-api-types/v10';
import type { PreparedGeneration } from '../generation/prepare-generation.ts';
import { type ButtonAction, customId } from './custom-id.ts';
import { ButtonStyle, ComponentType, MessageFlags } from './discord-constants.ts';

export interface MessageImage {
  key: string;
  objectKey: string;
  seed: number;
}

export type MessageBody = RESTPatchAPIWebhookWithTokenMessageJSONBody & { flags?: number };

/** Discord's brand blurple, so our embeds look like they belong. */
export const EMBED_COLOUR = 0x5865f2;
export const TITLE_CHARS = 100;

/** Backslash-escapes Discord markdown, so `*`, `_` or `~` in a prompt show as typed. */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_~|>#[\]()-]/g, (c) => `\\${c}`);
}

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

type ActionStyle = APIButtonComponentWithCustomId['style'];

function button(
  label: string,
  action: ButtonAction,
  style: ActionStyle = ButtonStyle.Secondary,
): APIButtonComponent {
  return { type: ComponentType.Button, style, label, custom_id: customId(action) };
}

function link(label: string, url: string): APIButtonComponent {
  return { type: ComponentType.Button, style: ButtonStyle.Link, label, url };
}

function row(components: APIButtonComponent[]): APIActionRowComponent<APIButtonComponent> {
  return { type: ComponentType.ActionRow, components };
}

function parameterFields(g: PreparedGeneration, images: readonly MessageImage[]): APIEmbedField[] {
  const seeds = images.map((image) => image.seed).join(', ');
  return [
    ...(g.negativePrompt.text
      ? [{ name: 'Negative prompt', value: escapeMarkdown(g.negativePrompt.text) }]
      : []),
    { name: images.length > 1 ? 'Seeds' : 'Seed', value: seeds, inline: true },
    { name: 'Size', value: `${g.width}×${g.height}`, inline: true },
    { name: 'Steps', value: String(g.steps), inline: true },
    { name: 'Scheduler', value: g.scheduler, inline: true },
    { name: 'Guidance', value: String(g.guidanceScale), inline: true },
    { name: 'Model', value: `${g.model} (${g.revision})`, inline: true },
  ];
}

export function imageMessage(
  generation: PreparedGeneration,
  images: readonly MessageImage[],
  baseUrl: string,
  ownerId: string,
): MessageBody {
  const shareUrl = (image: MessageImage) => `${baseUrl}/p/${image.key}`;
  const first = images[0];
  const prompt = generation.prompt.text;
  const embeds: APIEmbed[] = images.map((image, i) =>
    i === 0
      ? {
          title: truncate(prompt, TITLE_CHARS),
          url: shareUrl(first),
          description: escapeMarkdown(prompt),
          color: EMBED_COLOUR,
          fields: parameterFields(generation, images),
          image: { url: `${baseUrl}/i/${image.objectKey}` },
          footer: { text: 'latent-edge' },
        }
      : { url: shareUrl(first), image: { url: `${baseUrl}/i/${image.objectKey}` } },
  );
  const remove = button('Delete', { kind: 'delete', owner: ownerId }, ButtonStyle.Danger);
  const components =
    images.length === 1
      ? [
          row([
            button('Re-roll', { kind: 'reroll', key: first.key }, ButtonStyle.Primary),
            button('Variations', { kind: 'variations', key: first.key }),
            button('Same seed', { kind: 'same_seed', key: first.key }),
            link('Share', shareUrl(first)),
            remove,
          ]),
          row([button('Zoom out', { kind: 'zoom_out', key: first.key })]),
        ]
      : [
          row(images.map((image, i) => button(`Same seed #${i + 1}`, { kind: 'same_seed', key: image.key }))),
          row(images.map((image, i) => link(`Share #${i + 1}`, shareUrl(image)))),
          row(images.map((image, i) => button(`Zoom out #${i + 1}`, { kind: 'zoom_out', key: image.key }))),
          row([
            button('Re-roll', { kind: 'reroll', key: first.key }, ButtonStyle.Primary),
            button('Variations', { kind: 'variations', key: first.key }),
            remove,
          ]),
        ];
  return { content: `<@${ownerId}>`, embeds, components, allowed_mentions: { parse: [] } };
}

/** A job that failed: the reason in place of the image (for a button's job, to its user alone). */
export function failureMessage(reason: string, ephemeral: boolean): MessageBody {
  return {
    content: `⚠️ ${reason}`,
    embeds: [],
    components: [],
    allowed_mentions: { parse: [] },
    ...(ephemeral ? { flags: MessageFlags.Ephemeral } : {}),
  };
}
