// GET /p/<key>: the share page unfurls (OpenGraph, Twitter card), shows the parameters with all
// user text escaped, and links to a remix.
import { beforeAll, describe, expect, it } from 'vitest';
import { call, createApiKey, postJson, uniquePrompt } from './support/api.ts';

const HOSTILE = '<script>alert("x")</script> & "quotes" <img src=x onerror=alert(1)>';

let page: string;
let imageUrl: string;
let response: Response;

beforeAll(async () => {
  const { key } = await createApiKey();
  const generated = await postJson('/v1/images', { prompt: uniquePrompt(HOSTILE), seed: 12, steps: 7 }, key);
  const body = (await generated.json()) as { images: { url: string; share_url: string }[] };
  imageUrl = body.images[0].url;
  response = await call(new URL(body.images[0].share_url).pathname);
  page = await response.text();
});

function meta(attribute: 'property' | 'name', name: string): string | undefined {
  return new RegExp(`<meta ${attribute}="${name}" content="([^"]*)">`).exec(page)?.[1];
}

describe('GET /p/<key>', () => {
  it('is an HTML page with OpenGraph and Twitter card tags pointing at the image', () => {
    expect(response.status).toBe(200);
    expect(response.headers.get('Content-Type')).toMatch(/^text\/html/);
    expect(meta('property', 'og:image')).toBe(imageUrl);
    expect(meta('property', 'og:image:width')).toBe('64');
    expect(meta('name', 'twitter:card')).toBe('summary_large_image');
    expect(meta('name', 'twitter:image')).toBe(imageUrl);
    expect(meta('property', 'og:description')).toContain('7 steps');
  });

  it('escapes the prompt everywhere it appears', () => {
    expect(page).not.toContain('<script>alert');
    expect(page).not.toContain('<img src=x');
    expect(page).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &quot;quotes&quot;');
    expect(meta('property', 'og:title')).toMatch(/^&lt;script&gt;/);
  });

  it('links to a remix with the same parameters and seed', () => {
    const href = /<a href="([^"]+)" rel="nofollow">Remix<\/a>/.exec(page)?.[1];
    expect(href).toBeDefined();
    const remix = new URL((href ?? '').replaceAll('&amp;', '&'));
    expect(remix.searchParams.get('prompt')).toContain(HOSTILE);
    expect(remix.searchParams.get('seed')).toBe('12');
    expect(remix.searchParams.get('steps')).toBe('7');
  });

  it('forbids scripts with its Content-Security-Policy', () => {
    expect(response.headers.get('Content-Security-Policy')).toContain("default-src 'none'");
  });
});
