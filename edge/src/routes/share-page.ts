// GET /p/<key>: a shareable page for one image, with OpenGraph and Twitter card tags so a link
// unfurls with the picture, the parameters that made it (all user text HTML-escaped by hono's
// `html` template), the API request that reproduces it, and a remix link that opens the
// playground pre-filled with the same parameters.
import { Hono } from 'hono';
import { html } from 'hono/html';
import type { AppEnv } from '../env.ts';
import { IMAGE_EXTENSIONS, type ImageParameters, readImageParameters } from '../generation/image-objects.ts';
import { ApiError } from '../http/api-error.ts';
import { baseUrl } from '../http/base-url.ts';

export const sharePage = new Hono<AppEnv>();

const KEY = /^[0-9a-f]{64}$/;
const TITLE_CHARS = 70;

/** The request body that makes this image again (same model, tokens, parameters and seed). */
function reproduceBody(p: ImageParameters): Record<string, unknown> {
  return {
    model: p.model,
    prompt: p.prompt,
    negative_prompt: p.negative_prompt,
    width: p.width,
    height: p.height,
    steps: p.steps,
    guidance_scale: p.guidance_scale,
    guidance_rescale: p.guidance_rescale,
    scheduler: p.scheduler,
    seed: p.seed,
    output_format: p.output_format,
  };
}

function remixQuery(p: ImageParameters): string {
  const body = reproduceBody(p);
  return new URLSearchParams(
    Object.entries(body).map(([k, v]): [string, string] => [k, String(v)]),
  ).toString();
}

sharePage.get('/:key', async (c) => {
  const key = c.req.param('key');
  if (!KEY.test(key)) throw new ApiError(404, 'not_found', `no image ${JSON.stringify(key.slice(0, 100))}`);
  // The output format is part of the key, so exactly one of these exists.
  const names = Object.values(IMAGE_EXTENSIONS).map((ext) => `${key}.${ext}`);
  const heads = await Promise.all(names.map((name) => c.env.IMAGES.head(name)));
  const index = heads.findIndex((head) => head !== null);
  const object = heads[index];
  const params = object ? readImageParameters(object) : undefined;
  if (!object || !params) throw new ApiError(404, 'not_found', `no image ${key}`);

  const base = baseUrl(c);
  const pageUrl = `${base}/p/${key}`;
  const imageUrl = `${base}/i/${names[index]}`;
  const title =
    params.prompt.length > TITLE_CHARS ? `${params.prompt.slice(0, TITLE_CHARS - 1)}…` : params.prompt;
  const summary = `${params.model} · ${params.width}×${params.height} · ${params.steps} steps · ${params.scheduler} · CFG ${params.guidance_scale} · seed ${params.seed}`;
  const rows: [string, string | number][] = [
    ['Prompt', params.prompt],
    ['Negative prompt', params.negative_prompt || '—'],
    ['Model', `${params.model} (${params.revision})`],
    ['Size', `${params.width}×${params.height}`],
    ['Steps', params.steps],
    ['Scheduler', params.scheduler],
    ['Guidance scale', params.guidance_scale],
    ['Seed', params.seed],
  ];
  if (params.prompts_shortened) {
    rows.push([
      'Note',
      params.output_format === 'png'
        ? "the prompts are shortened here (R2's metadata limit); the PNG's parameters hold them whole"
        : "the prompts are shortened here (R2's metadata limit)",
    ]);
  }
  const curl = `curl ${base}/v1/images -H "Authorization: Bearer $KEY" -H "Content-Type: application/json" -d '${JSON.stringify(reproduceBody(params)).replaceAll("'", "'\\''")}'`;

  c.header('Cache-Control', 'public, max-age=3600');
  c.header('Content-Security-Policy', `default-src 'none'; img-src ${base}; style-src 'unsafe-inline'`);
  c.header('X-Content-Type-Options', 'nosniff');
  return c.html(html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · latent-edge</title>
<meta name="description" content="${summary}">
<link rel="canonical" href="${pageUrl}">
<meta property="og:type" content="website">
<meta property="og:site_name" content="latent-edge">
<meta property="og:title" content="${title}">
<meta property="og:description" content="${summary}">
<meta property="og:url" content="${pageUrl}">
<meta property="og:image" content="${imageUrl}">
<meta property="og:image:type" content="${object.httpMetadata?.contentType ?? ''}">
<meta property="og:image:width" content="${params.width}">
<meta property="og:image:height" content="${params.height}">
<meta property="og:image:alt" content="${title}">
<meta name="twitter:card" content="summary_large_image">
<meta name="twitter:title" content="${title}">
<meta name="twitter:description" content="${summary}">
<meta name="twitter:image" content="${imageUrl}">
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem}img{max-width:100%;image-rendering:auto}th{text-align:left;padding-right:1rem;vertical-align:top}pre{white-space:pre-wrap;word-break:break-all;background:#f4f4f4;padding:.5rem}</style>
</head>
<body>
<main>
<img src="${imageUrl}" width="${params.width}" height="${params.height}" alt="${title}">
<table>${rows.map(([name, value]) => html`<tr><th>${name}</th><td>${value}</td></tr>`)}</table>
<p><a href="${base}/?${remixQuery(params)}" rel="nofollow">Remix</a> · <a href="${imageUrl}" download>Download</a></p>
<p>Make it again through the API:</p>
<pre>${curl}</pre>
</main>
</body>
</html>`);
});
