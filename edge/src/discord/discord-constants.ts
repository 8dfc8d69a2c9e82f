// Discord's numeric constants that this service sends and reads, under discord-api-types' names
// and checked against its enums at compile time (each object's type is the enum's own members,
// so a wrong number does not compile). The enums are not imported as values: the package's
// CommonJS re-exports arrive empty inside the Workers test runtime (vitest-pool-workers' module
// fallback), so only its types are used, here and everywhere else.
import type * as Api from 'discord-api-types/v10';

type Members<Enum, Names extends keyof Enum> = { readonly [Name in Names]: Enum[Name] };

export const InteractionType: Members<
  typeof Api.InteractionType,
  'Ping' | 'ApplicationCommand' | 'MessageComponent' | 'ApplicationCommandAutocomplete'
> = { Ping: 1, ApplicationCommand: 2, MessageComponent: 3, ApplicationCommandAutocomplete: 4 };

export const InteractionResponseType: Members<
  typeof Api.InteractionResponseType,
  | 'Pong'
  | 'ChannelMessageWithSource'
  | 'DeferredChannelMessageWithSource'
  | 'DeferredMessageUpdate'
  | 'ApplicationCommandAutocompleteResult'
> = {
  Pong: 1,
  ChannelMessageWithSource: 4,
  DeferredChannelMessageWithSource: 5,
  DeferredMessageUpdate: 6,
  ApplicationCommandAutocompleteResult: 8,
};

export const MessageFlags: Members<typeof Api.MessageFlags, 'Ephemeral'> = { Ephemeral: 64 };

export const ComponentType: Members<typeof Api.ComponentType, 'ActionRow' | 'Button'> = {
  ActionRow: 1,
  Button: 2,
};

export const ButtonStyle: Members<typeof Api.ButtonStyle, 'Primary' | 'Secondary' | 'Danger' | 'Link'> = {
  Primary: 1,
  Secondary: 2,
  Danger: 4,
  Link: 5,
};

export const ApplicationCommandType: Members<typeof Api.ApplicationCommandType, 'ChatInput'> = {
  ChatInput: 1,
};

export const ApplicationCommandOptionType: Members<
  typeof Api.ApplicationCommandOptionType,
  'String' | 'Integer' | 'Number'
> = { String: 3, Integer: 4, Number: 10 };

export const ApplicationIntegrationType: Members<typeof Api.ApplicationIntegrationType, 'GuildInstall'> = {
  GuildInstall: 0,
};

export const InteractionContextType: Members<typeof Api.InteractionContextType, 'Guild'> = { Guild: 0 };

export const RESTJSONErrorCodes: Members<
  typeof Api.RESTJSONErrorCodes,
  'UnknownMessage' | 'UnknownWebhook' | 'InvalidWebhookToken'
> = { UnknownMessage: 10008, UnknownWebhook: 10015, InvalidWebhookToken: 50027 };

/** The routes used, as discord-api-types' `Routes` builds them. */
export const Routes = {
  webhook: (applicationId: string, token: string) => `/webhooks/${applicationId}/${token}`,
  webhookMessage: (applicationId: string, token: string, messageId: '@original') =>
    `/webhooks/${applicationId}/${token}/messages/${messageId}`,
  applicationCommands: (applicationId: string) => `/applications/${applicationId}/commands`,
  applicationGuildCommands: (applicationId: string, guildId: string) =>
    `/applications/${applicationId}/guilds/${guildId}/commands`,
} satisfies Partial<Record<keyof typeof Api.Routes, (...args: never[]) => string>>;
