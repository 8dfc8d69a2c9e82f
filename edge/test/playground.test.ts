// GET /: the playground is a public, self-contained HTML page: every control labelled, the status
// region live, nothing loaded from another origin, and a Content-Security-Policy that allows its
// own inline script and style (by hash) and nothing else.
import { SCHEDULER_NAMES } from '@latent-edge/shared/scheduler-names';
import { beforeAll, describe, expect, it } from 'vitest';
import { hashSource } from '../src/playground/content-security-policy.ts';
import { call } from './support/api.ts';

let response: Response;
let page: string;
let policy: Map<string, string[]>;

beforeAll(async () => {
  response = await call('/');
  page = await response.text();
  policy = new Map(
    (response.headers.get('Content-Security-Policy') ?? '').split(';').map((directive) => {
      const [name, ...sources] = directive.trim().split(/\s+/);
      return [name, sources];
    }),
  );
});

/** The text of the page's one `<tag>…</tag>` element. */
function inline(tag: 'script' | 'style'): string {
  const matches = [...page.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g'))];
  expect(matches).toHaveLength(1);
  return matches[0][1];
}

const CONTROLS = {
  'api-key': 'API key',
  prompt: 'Prompt',
  'negative-prompt': 'Negative prompt',
  model: 'Model',
  width: 'Width (pixels)',
  height: 'Height (pixels)',
  size: 'Size (pixels)',
  steps: 'Steps',
  seed: 'Seed',
  scheduler: 'Scheduler',
  guidance: 'Guidance scale',
  lora: 'LoRA',
  'lora-weight': 'LoRA weight',
  'source-file': 'Source image',
  'mode-inpaint': 'Inpaint: repaint what you paint over',
  'mode-outpaint': 'Outpaint: extend the picture',
  'brush-paint': 'Paint',
  'brush-erase': 'Erase',
  'brush-size': 'Brush diameter (pixels)',
  'outpaint-left': 'Left (pixels)',
  'outpaint-right': 'Right (pixels)',
  'outpaint-top': 'Top (pixels)',
  'outpaint-bottom': 'Bottom (pixels)',
  strength: 'Strength',
  'mask-blur': 'Mask blur (pixels)',
  'masked-content': 'Masked content',
  'share-link': 'Share link',
  progress: 'Progress',
};

describe('GET /', () => {
  it('is an HTML page, served without an API key', () => {
    expect(response.status).toBe(200);
    expect(response.headers.get('Content-Type')).toMatch(/^text\/html; charset=utf-8/i);
    expect(page).toMatch(/^<!doctype html>\s*<html lang="en">/);
    expect(page).toContain('<title>Playground · latent-edge</title>');
  });

  it('labels every form control, and each label names an element that exists', () => {
    for (const [id, text] of Object.entries(CONTROLS)) {
      expect(page, id).toContain(`<label for="${id}">${text}</label>`);
    }
    const controls = [...page.matchAll(/<(input|select|textarea|progress)\b[^>]*\bid="([^"]+)"/g)].map(
      (m) => m[2],
    );
    expect(controls.sort()).toEqual(Object.keys(CONTROLS).sort());
    for (const [, id] of page.matchAll(/<label for="([^"]+)">/g)) {
      expect(page, id).toMatch(new RegExp(`<(input|select|textarea|progress)\\b[^>]*\\bid="${id}"`));
    }
  });

  it('has the buttons, a live status region and an alert region for errors', () => {
    expect(page).toMatch(/<button type="submit" id="generate">Generate<\/button>/);
    expect(page).toMatch(/<button type="button" id="cancel" class="secondary" disabled>Cancel<\/button>/);
    expect(page).toMatch(/<button type="button" id="copy-share">Copy share link<\/button>/);
    expect(page).toContain('<p id="status" role="status" aria-live="polite" aria-atomic="true"></p>');
    expect(page).toContain('<p id="error" role="alert" hidden></p>');
  });

  it('offers every shared scheduler name, and the API limits on the number fields', () => {
    for (const name of SCHEDULER_NAMES) expect(page).toContain(`<option value="${name}">${name}</option>`);
    expect(page).toMatch(/<input id="steps"[^>]* min="1" max="150"/);
    expect(page).toMatch(/<input id="seed"[^>]* min="-1" max="9007199254740991"/);
    expect(page).toMatch(/<input id="guidance"[^>]* min="0" max="30"/);
    expect(page).toMatch(/<input id="lora-weight"[^>]* min="-4" max="4"/);
    expect(page).toContain('data-min-size="64"');
  });

  it('loads nothing from anywhere: no external URL, no linked asset', () => {
    expect(page).not.toMatch(/https?:\/\//);
    expect(page).not.toMatch(/\b(src|href|action)="\/\//);
    // The one link is an empty icon, so the browser does not ask for /favicon.ico.
    expect([...page.matchAll(/<link\b[^>]*>/g)].map((m) => m[0])).toEqual([
      '<link rel="icon" href="data:,">',
    ]);
    expect(page).not.toMatch(/<iframe\b|<object\b|<embed\b/i);
    // Where CSS would load from: the one stylesheet (the script's URL() and toDataURL() load nothing).
    expect(inline('style')).not.toMatch(/@import|url\(/i);
    expect(page).not.toMatch(/<script\b[^>]*\bsrc=/);
  });

  it('sends a strict Content-Security-Policy that allows exactly its own inline script and style', async () => {
    expect(policy.get('default-src')).toEqual(["'none'"]);
    expect(policy.get('script-src')).toEqual([await hashSource(inline('script'))]);
    expect(policy.get('style-src')).toEqual([await hashSource(inline('style'))]);
    expect(policy.get('img-src')).toEqual(["'self'", 'data:']);
    expect(policy.get('connect-src')).toEqual(["'self'"]);
    expect(policy.get('frame-ancestors')).toEqual(["'none'"]);
    expect(policy.get('base-uri')).toEqual(["'none'"]);
    const sources = [...policy.values()].flat();
    expect(sources.filter((source) => /[./]/.test(source) && !source.startsWith("'sha256-"))).toEqual([]);
    expect(response.headers.get('X-Content-Type-Options')).toBe('nosniff');
  });

  it('uses no HTML or eval sink in its script (Trusted Types would refuse them)', () => {
    expect(inline('script')).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(/);
  });
});
