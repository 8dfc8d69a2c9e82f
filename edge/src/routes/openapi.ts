// GET /openapi.json and GET /docs: this API described as an OpenAPI 3.1 document, and the same
// document as a readable page. Public, like the API's own description should be; the document
// names this deployment's origin as its server and fills its examples from the default model.

import type { Context } from 'hono';
import { Hono } from 'hono';
import type { AppEnv } from '../env.ts';
import { findModel } from '../generation/served-models.ts';
import { baseUrl } from '../http/base-url.ts';
import { openApiDocument } from '../openapi/openapi-document.ts';
import { referencePage } from '../openapi/reference-page.ts';

export const apiReference = new Hono<AppEnv>();

/** Changes only with a deploy or a configuration change. */
const CACHE_CONTROL = 'public, max-age=300';

function document(c: Context<AppEnv>) {
  return openApiDocument({ serverUrl: baseUrl(c), model: findModel(c.var.config, undefined).config });
}

apiReference.get('/openapi.json', (c) => {
  c.header('Cache-Control', CACHE_CONTROL);
  // Tools load API descriptions from other origins (editors, client generators); it holds no secret.
  c.header('Access-Control-Allow-Origin', '*');
  return c.json(document(c));
});

apiReference.get('/docs', (c) => {
  c.header('Cache-Control', CACHE_CONTROL);
  c.header('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'");
  c.header('X-Content-Type-Options', 'nosniff');
  return c.html(referencePage(document(c)));
});
