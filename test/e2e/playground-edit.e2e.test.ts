// End to end in a browser: the playground's editing mode against the stack `npm start` runs (the
// real gpu-worker, the edge under `wrangler dev`), in Debian's headless Chromium. A result is taken
// over with "Edit this", a mask painted with the mouse and inpainted; an uploaded file is
// outpainted. What the page sent is read from the request itself, and what came back is decoded
// with sharp and compared with the source, pixel by pixel. Any script or console error (where a
// Content-Security-Policy violation shows) fails the test.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page, Request } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserUnavailable, launchChromium } from '../support/browser.ts';
import { startTestStack, type TestStack } from '../support/local-stack.ts';

const unavailable = browserUnavailable();
if (unavailable) console.warn(unavailable);

interface Opened {
  page: Page;
  /** Uncaught errors and console errors, with where they came from. */
  problems: string[];
  /** The JSON bodies of the page's POST /v1/images requests, in order. */
  sent: Record<string, unknown>[];
}

interface Raw {
  data: Buffer;
  width: number;
  height: number;
  channels: number;
}

async function rawPixels(bytes: Buffer): Promise<Raw> {
  const { data, info } = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

/** The RGB of pixel (x, y), as one comparable string. */
function rgbAt(image: Raw, x: number, y: number): string {
  const at = (y * image.width + x) * image.channels;
  return `${image.data[at]},${image.data[at + 1]},${image.data[at + 2]}`;
}

describe.skipIf(unavailable)('the playground editing mode in Chromium', () => {
  let env: TestStack;
  let browser: Browser;
  let edge: string;
  let key: string;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'latent-edge-edit-'));
    browser = await launchChromium();
    env = await startTestStack({ edgeVars: { RATE_LIMIT_REQUESTS: '1000' } });
    edge = env.info.edgeUrl;
    key = env.info.apiKey;
  });

  afterAll(async () => {
    try {
      await browser?.close();
    } finally {
      await env?.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  async function open(path: string): Promise<Opened> {
    const context = await browser.newContext();
    const page = await context.newPage();
    const problems: string[] = [];
    const sent: Record<string, unknown>[] = [];
    page.on('pageerror', (error) => problems.push(`${page.url()}: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`${message.location().url}: ${message.text()}`);
    });
    page.on('request', (request: Request) => {
      if (request.method() === 'POST' && request.url() === `${edge}/v1/images`) {
        sent.push(JSON.parse(request.postData() ?? 'null'));
      }
    });
    await page.goto(`${edge}${path}`);
    await page.getByRole('status').filter({ hasText: 'Ready.' }).waitFor();
    return { page, problems, sent };
  }

  /** Waits for a result other than `previous` (a src) to be shown and decoded; its bytes. */
  async function nextResult(page: Page, previous: string | null): Promise<Buffer> {
    await page.waitForFunction(
      (previous) => {
        const image = document.getElementById('result-image') as HTMLImageElement;
        return !image.closest('section')?.hidden && image.src !== previous && image.naturalWidth > 0;
      },
      previous,
      { timeout: 120_000 },
    );
    const src = (await page.locator('#result-image').getAttribute('src')) ?? '';
    return Buffer.from(await (await fetch(src)).arrayBuffer());
  }

  /** Drags the mouse across the mask canvas, between points given as fractions of its box. */
  async function stroke(page: Page, from: [number, number], to: [number, number]): Promise<void> {
    // All of it in view: mouse events outside the viewport reach no element.
    const canvas = page.locator('#mask-canvas');
    await canvas.evaluate((element) => element.scrollIntoView({ block: 'center' }));
    const box = await canvas.boundingBox();
    if (!box) throw new Error('the mask canvas is not shown');
    const at = ([fx, fy]: [number, number]) => [box.x + fx * box.width, box.y + fy * box.height] as const;
    await page.mouse.move(...at(from));
    await page.mouse.down();
    await page.mouse.move(...at(to), { steps: 12 });
    await page.mouse.up();
  }

  it('takes a result over with "Edit this", inpaints the painted stroke only, and sends a mask of the image size', async () => {
    const { page, problems, sent } = await open(`/#key=${key}`);
    await page.getByLabel('Prompt', { exact: true }).fill('a green square on a yellow background');
    await page.getByLabel('Width (pixels)').selectOption('64');
    await page.getByLabel('Height (pixels)').selectOption('64');
    await page.getByLabel('Steps').fill('4');
    await page.getByLabel('Seed').fill('21');
    await page.getByRole('button', { name: 'Generate' }).click();
    const source = await nextResult(page, null);
    const sourceSrc = await page.locator('#result-image').getAttribute('src');

    await page.getByRole('button', { name: 'Edit this' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: 'Editing the result with seed 21, 64 × 64 pixels.' })
      .waitFor();
    expect(await page.getByLabel('Inpaint: repaint what you paint over').isChecked()).toBe(true);
    expect(await page.getByLabel('Width (pixels)').isDisabled()).toBe(true);

    // Across the middle with the default 8 px brush: image x 16..48 at y 32 (the canvas is drawn
    // at 384 px for 64 image pixels, so the mouse's positions are scaled down by 6).
    await stroke(page, [0.25, 0.5], [0.75, 0.5]);
    // A second stroke near the top, painted and then erased again with a wider brush.
    await stroke(page, [0.3, 0.2], [0.7, 0.2]);
    await page.getByLabel('Erase', { exact: true }).check();
    const brushSize = page.getByLabel('Brush diameter (pixels)');
    await brushSize.focus();
    for (let i = 0; i < 8; i++) await brushSize.press('ArrowRight');
    expect(await brushSize.inputValue()).toBe('16');
    await stroke(page, [0.25, 0.2], [0.75, 0.2]);
    await page.getByLabel('Paint', { exact: true }).check();

    // A hard mask edge, so "outside" is exactly the black pixels; the whole stroke repainted.
    await page.getByLabel('Mask blur (pixels)').fill('0');
    await page.getByLabel('Strength', { exact: true }).fill('1');
    await page.getByLabel('Prompt', { exact: true }).fill('a red line');
    await page.getByRole('button', { name: 'Generate' }).click();
    const result = await nextResult(page, sourceSrc);

    // What the page sent: the result's own bytes, and a white-on-black mask of its size.
    const body = sent.at(-1) ?? {};
    expect(body.init_image).toBe(source.toString('base64'));
    expect(body).toMatchObject({
      width: 64,
      height: 64,
      mask_blur: 0,
      strength: 1,
      masked_content: 'original',
    });
    expect(body.outpaint).toBeUndefined();
    expect(typeof body.mask).toBe('string');
    expect(String(body.mask)).not.toMatch(/^data:/);
    const mask = await rawPixels(Buffer.from(String(body.mask), 'base64'));
    expect([mask.width, mask.height]).toEqual([64, 64]);
    const white = (x: number, y: number) => mask.data[(y * 64 + x) * mask.channels] === 255;
    let painted = 0;
    for (let y = 0; y < 64; y++) {
      for (let x = 0; x < 64; x++) {
        const value = rgbAt(mask, x, y);
        expect(['0,0,0', '255,255,255'], `mask (${x}, ${y})`).toContain(value);
        if (!white(x, y)) continue;
        painted++;
        // Inside the stroke's reach: its line plus half the brush, and a pixel for rounding.
        expect(x, `white at (${x}, ${y})`).toBeGreaterThanOrEqual(11);
        expect(x, `white at (${x}, ${y})`).toBeLessThanOrEqual(53);
        expect(y, `white at (${x}, ${y})`).toBeGreaterThanOrEqual(27);
        expect(y, `white at (${x}, ${y})`).toBeLessThanOrEqual(37);
      }
    }
    for (const x of [16, 24, 32, 40, 47]) expect(white(x, 32), `stroke at (${x}, 32)`).toBe(true);
    expect(painted).toBeGreaterThan(32 * 6);

    // What came back: the source's size, every black-masked pixel the source's own, the stroke redrawn.
    const before = await rawPixels(source);
    const after = await rawPixels(result);
    expect([after.width, after.height]).toEqual([64, 64]);
    let kept = 0;
    let changedInside = 0;
    for (let y = 0; y < 64; y++) {
      for (let x = 0; x < 64; x++) {
        const same = rgbAt(after, x, y) === rgbAt(before, x, y);
        if (!white(x, y)) {
          if (same) kept++;
        } else if (!same) changedInside++;
      }
    }
    expect(kept).toBe(64 * 64 - painted);
    expect(changedInside).toBeGreaterThan(0);
    expect(problems).toEqual([]);
  });

  it('outpaints an uploaded file by the sides asked for, the picture itself kept', async () => {
    // 64 × 64 of stripes, so a shifted or rescaled copy would not match.
    const pixels = Buffer.alloc(64 * 64 * 3);
    for (let p = 0; p < 64 * 64; p++) {
      const [x, y] = [p % 64, Math.floor(p / 64)];
      pixels.set([(x * 4) % 256, (y * 4) % 256, (x + y) % 2 === 0 ? 200 : 40], p * 3);
    }
    const upload = await sharp(pixels, { raw: { width: 64, height: 64, channels: 3 } })
      .png()
      .toBuffer();
    const file = join(dir, 'stripes.png');
    writeFileSync(file, upload);

    const { page, problems, sent } = await open(`/#key=${key}`);
    await page.getByLabel('Source image', { exact: true }).setInputFiles(file);
    await page.getByRole('status').filter({ hasText: 'Editing stripes.png, 64 × 64 pixels.' }).waitFor();
    expect(await page.getByRole('img', { name: 'Source image: stripes.png' }).isVisible()).toBe(true);
    await page.getByLabel('Outpaint: extend the picture').check();
    expect(await page.locator('#mask-canvas').isVisible()).toBe(false);
    await page.getByLabel('Left (pixels)').fill('32');
    await page.getByLabel('Bottom (pixels)').fill('32');
    // No prompt: an edit may go without one. A hard mask edge: the border's blur would reach into
    // the picture.
    await page.getByLabel('Steps').fill('4');
    await page.getByLabel('Mask blur (pixels)').fill('0');
    await page.getByRole('button', { name: 'Generate' }).click();
    const result = await nextResult(page, null);

    const body = sent.at(-1) ?? {};
    expect(body.init_image).toBe(upload.toString('base64'));
    expect(body.prompt).toBe('');
    expect(body.outpaint).toEqual({ left: 32, right: 0, top: 0, bottom: 32 });
    expect(body.mask).toBeUndefined();
    expect(body.width).toBeUndefined();
    expect(body.height).toBeUndefined();

    const after = await rawPixels(result);
    expect([after.width, after.height]).toEqual([64 + 32, 64 + 32]);
    expect(await page.getByRole('img', { name: 'Image without a prompt' }).isVisible()).toBe(true);
    const before = await rawPixels(upload);
    let kept = 0;
    for (let y = 0; y < 64; y++) {
      for (let x = 0; x < 64; x++) if (rgbAt(after, x + 32, y) === rgbAt(before, x, y)) kept++;
    }
    expect(kept).toBe(64 * 64);
    expect(problems).toEqual([]);
  });
});
