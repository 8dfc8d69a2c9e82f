// The routes that need no API key: images and their share pages (anyone with the link), Discord's
// interactions endpoint (signed by Discord instead), and this reference itself.
import {
  SIGNATURE_HEADER,
  SIGNATURE_WINDOW_SECONDS,
  TIMESTAMP_HEADER,
} from '../discord/request-signature.ts';
import { IMMUTABLE_CACHE_CONTROL } from '../generation/image-objects.ts';
import type { RequestExamples } from './examples.ts';
import type { Operation, Parameter, PathItem, Response } from './openapi-types.ts';
import { jsonBody, jsonResponse, PUBLIC, responseRef } from './operation-parts.ts';

const imageKey = { type: 'string', pattern: '^[0-9a-f]{64}$' };
const KEY_EXAMPLE = '9f2c4e0b7d1a6c3e5f8b0a2d4c6e8f1a3b5d7f9e1c3a5b7d9f0e2c4a6b8d0f1e';

const imageParameters: Parameter[] = [
  {
    name: 'key',
    in: 'path',
    required: true,
    description: 'The image’s content address (a hash of everything that decides its pixels).',
    schema: imageKey,
    example: KEY_EXAMPLE,
  },
  {
    name: 'ext',
    in: 'path',
    required: true,
    schema: { type: 'string', enum: ['png', 'webp', 'jpg'] },
    example: 'png',
  },
  {
    name: 'Range',
    in: 'header',
    description: 'One byte range, `bytes=<first>-<last>`.',
    schema: { type: 'string' },
  },
  {
    name: 'If-None-Match',
    in: 'header',
    description: 'An ETag the client has: 304 if it matches.',
    schema: { type: 'string' },
  },
  {
    name: 'If-Range',
    in: 'header',
    description: 'Range applies only if the ETag still matches.',
    schema: { type: 'string' },
  },
];

const text = (description: string) => ({ description, required: true, schema: { type: 'string' } });

const imageHeaders = {
  ETag: text('Strong; the same for the life of the image.'),
  'Cache-Control': { required: true, schema: { type: 'string', const: IMMUTABLE_CACHE_CONTROL } },
  'Accept-Ranges': { required: true, schema: { type: 'string', const: 'bytes' } },
  'Content-Length': { required: true, schema: { type: 'integer', minimum: 0 } },
};

const binary = (mediaType: string) => ({ schema: { type: 'string', contentMediaType: mediaType } });
const imageContent = {
  'image/png': binary('image/png'),
  'image/webp': binary('image/webp'),
  'image/jpeg': binary('image/jpeg'),
};

function imageOperation(method: 'get' | 'head'): Operation {
  const full: Response = { description: 'The image.', headers: imageHeaders };
  return {
    operationId: method === 'get' ? 'getImage' : 'headImage',
    tags: ['Images and share pages'],
    summary: method === 'get' ? 'Get an image' : 'Get an image’s headers',
    description:
      'Permanent and immutable: the URL names the bytes. Conditional (ETag, 304) and Range (206, 416) requests are answered, from the edge cache when it has the image.',
    security: PUBLIC,
    parameters: imageParameters,
    responses: {
      '200': method === 'get' ? { ...full, content: imageContent } : full,
      ...(method === 'get'
        ? {
            '206': {
              description: 'The requested byte range.',
              headers: { ...imageHeaders, 'Content-Range': text('`bytes <first>-<last>/<size>`') },
              content: imageContent,
            },
          }
        : {}),
      '304': {
        description: 'Not modified: the client’s copy is current.',
        headers: { ETag: imageHeaders.ETag },
      },
      '404': responseRef('NotFound'),
      ...(method === 'get'
        ? {
            '416': jsonResponse('The range starts past the end of the image.', 'ErrorBody', {
              'Content-Range': text('`bytes */<size>`'),
            }),
          }
        : {}),
    },
  };
}

const html = { 'text/html': { schema: { type: 'string' } } };

export function publicPaths(examples: RequestExamples): Record<string, PathItem> {
  return {
    '/i/{key}.{ext}': { get: imageOperation('get'), head: imageOperation('head') },
    '/p/{key}': {
      get: {
        operationId: 'getSharePage',
        tags: ['Images and share pages'],
        summary: 'An image’s share page',
        description:
          'The image with the parameters that made it, OpenGraph and Twitter card tags (a link unfurls with the picture), the API request that makes it again, and a remix link.',
        security: PUBLIC,
        parameters: [{ ...imageParameters[0] }],
        responses: { '200': { description: 'The page.', content: html }, '404': responseRef('NotFound') },
      },
    },
    '/discord/interactions': {
      post: {
        operationId: 'discordInteraction',
        tags: ['Discord'],
        summary: 'Discord interactions endpoint',
        description: `Set as the application’s Interactions Endpoint URL; Discord calls it, signing each request with Ed25519 over the timestamp and the raw body. A request signed otherwise, or more than ${SIGNATURE_WINDOW_SECONDS} s from our clock, is refused before its body is read. Answers PING, \`/imagine\` and its buttons.`,
        security: PUBLIC,
        parameters: [
          {
            name: SIGNATURE_HEADER,
            in: 'header',
            required: true,
            description: 'Hex Ed25519 signature.',
            schema: { type: 'string', pattern: '^[0-9a-fA-F]{128}$' },
          },
          {
            name: TIMESTAMP_HEADER,
            in: 'header',
            required: true,
            description: 'Unix time, seconds.',
            schema: { type: 'string', pattern: '^\\d+$' },
          },
        ],
        requestBody: jsonBody('DiscordInteraction', examples.discord),
        responses: {
          '200': jsonResponse('The interaction response.', 'DiscordInteractionResponse'),
          '400': responseRef('InvalidRequest'),
          '401': jsonResponse('The signature is missing, malformed, stale or wrong.', 'ErrorBody'),
          '404': responseRef('NotFound'),
          '413': responseRef('TooLarge'),
        },
      },
    },
    '/': {
      get: {
        operationId: 'getPlayground',
        tags: ['Reference'],
        summary: 'The playground: try the API in a browser',
        description:
          'A page that calls this API with a key typed into it (or handed to it in the URL fragment).',
        security: PUBLIC,
        responses: { '200': { description: 'The page.', content: html } },
      },
    },
    '/openapi.json': {
      get: {
        operationId: 'getOpenApiDocument',
        tags: ['Reference'],
        summary: 'This API as an OpenAPI 3.1 document',
        security: PUBLIC,
        responses: { '200': jsonResponse('The document.', { type: 'object' }) },
      },
    },
    '/docs': {
      get: {
        operationId: 'getApiReference',
        tags: ['Reference'],
        summary: 'This API reference, as a page',
        security: PUBLIC,
        responses: { '200': { description: 'The page.', content: html } },
      },
    },
  };
}
