// End to end in a browser: the playground (GET /) of the stack `npm start` runs, the real gpu-worker
// and the edge under `wrangler dev`, driven in Debian's headless Chromium the way a person would:
// labels to find the controls, the keyboard to press Generate, the status region to follow it.
// Every page also fails its test on a script error or a console error, which is where a
// Content-Security-Policy violation shows.
import { randomUUID } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPngText } from '../../gpu-worker/src/image/png-text.ts';
import { browserUnavailable, launchChromium } from '../support/browser.ts';
import { startTestStack, type TestStack } from '../support/local-stack.ts';

const unavailable = browserUnavailable();
if (unavailable) console.warn(unavailable);

/** A 1×1 lossy WebP, the smallest preview frame a browser decodes. */
const WEBP_1X1 = 'data:image/webp;base64,UklGRiQAAABXRUJQVlA4IBgAAAAwAQCdASoBAAEAAwA0JaQAA3AA/vuUAAA=';

interface Opened {
  page: Page;
  /** Uncaught errors and console errors, with where they came from. */
  problems: string[];
}

describe.skipIf(unavailable)('the playground in Chromium', () => {
  let env: TestStack;
  let browser: Browser;
  let edge: string;
  let key: string;

  beforeAll(async () => {
    browser = await launchChromium();
    env = await startTestStack({
      // Every test here uses the one dev key, and each poll of a job counts against its limit.
      edgeVars: { RATE_LIMIT_REQUESTS: '1000' },
    });
    edge = env.info.edgeUrl;
    key = env.info.apiKey;
  });

  afterAll(async () => {
    try {
      await browser?.close();
    } finally {
      await env?.close();
    }
  });

  async function open(path: string): Promise<Opened> {
    const context = await browser.newContext({ permissions: ['clipboard-read', 'clipboard-write'] });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(`${page.url()}: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`${message.location().url}: ${message.text()}`);
    });
    await page.goto(`${edge}${path}`);
    return { page, problems };
  }

  /**
   * Starts recording what an element shows: each text put into it, or each `src` given to it (an
   * image). The returned function reads the record.
   */
  async function record(page: Page, id: string): Promise<() => Promise<string[]>> {
    await page.evaluate((id) => {
      const element = document.getElementById(id) as HTMLElement;
      const seen: string[] = [];
      Object.assign(window, { [`seen-${id}`]: seen });
      new MutationObserver((records) => {
        for (const change of records) {
          if (change.type === 'attributes') seen.push(element.getAttribute('src') ?? '');
          for (const node of Array.from(change.addedNodes)) seen.push(node.textContent ?? '');
        }
      }).observe(element, { childList: true, attributeFilter: ['src'] });
    }, id);
    return () => page.evaluate((id) => (window as unknown as Record<string, string[]>)[`seen-${id}`], id);
  }

  /** Polls GET /v1/jobs/:id (path given) until the job is finished; its view. */
  async function finishedJob(path: string): Promise<{ status: string }> {
    for (let attempt = 0; attempt < 600; attempt++) {
      const response = await fetch(`${edge}${path}`, { headers: { Authorization: `Bearer ${key}` } });
      const view = (await response.json()) as { status: string };
      if (['succeeded', 'failed', 'cancelled'].includes(view.status)) return view;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`${path} did not finish`);
  }

  async function modelsLoaded(page: Page): Promise<void> {
    await page.getByRole('status').filter({ hasText: 'Ready.' }).waitFor();
  }

  it('takes the API key from the URL fragment, keeps it, and takes it out of the address bar', async () => {
    const { page, problems } = await open(`/#key=${key}`);
    await modelsLoaded(page);
    expect(page.url()).toBe(`${edge}/`);
    expect(await page.evaluate(() => localStorage.getItem('latent-edge.api-key'))).toBe(key);
    expect(await page.getByLabel('API key').inputValue()).toBe(key);

    // The bundled model's sizes (multiples of 32 from 64 to 256), defaults and schedulers.
    const sizes = ['64', '96', '128', '160', '192', '224', '256'];
    expect(await page.getByLabel('Width (pixels)').locator('option').allTextContents()).toEqual(sizes);
    expect(await page.getByLabel('Height (pixels)').locator('option').allTextContents()).toEqual(sizes);
    expect(await page.getByLabel('Width (pixels)').inputValue()).toBe('64');
    expect(await page.getByLabel('Scheduler').inputValue()).toBe('ddim');
    expect(await page.getByLabel('Steps').inputValue()).toBe('20');
    expect(await page.getByLabel('Guidance scale').inputValue()).toBe('7.5');

    // Keyboard focus is visible: the first Tab stop is the key field, outlined.
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('api-key');
    const outline = await page.evaluate(() => {
      const style = getComputedStyle(document.activeElement as Element);
      return `${style.outlineStyle} ${style.outlineWidth}`;
    });
    expect(outline).toBe('solid 3px');

    // A reload finds the key in localStorage, with no fragment.
    await page.reload();
    await modelsLoaded(page);
    expect(await page.getByLabel('API key').inputValue()).toBe(key);
    expect(problems).toEqual([]);
  });

  it('generates from a typed prompt and shows the image, its seed and a share link to the share page', async () => {
    const { page, problems } = await open(`/#key=${key}`);
    await modelsLoaded(page);
    const prompt = `a red circle on a blue background ${randomUUID().slice(0, 8)}`;
    await page.getByLabel('Prompt', { exact: true }).fill(prompt);
    await page.getByLabel('Width (pixels)').selectOption('64');
    await page.getByLabel('Height (pixels)').selectOption('64');
    await page.getByLabel('Steps').fill('4');
    await page.getByLabel('Seed').fill('');
    const statuses = await record(page, 'status');

    await page.getByRole('button', { name: 'Generate' }).press('Enter');
    const image = page.getByRole('img', { name: prompt, exact: true });
    await image.waitFor({ timeout: 120_000 });
    await page.waitForFunction(
      () => (document.getElementById('result-image') as HTMLImageElement).naturalWidth > 0,
    );

    const src = (await image.getAttribute('src')) ?? '';
    expect(src).toMatch(new RegExp(`^${edge}/i/[0-9a-f]{64}\\.png$`));
    expect(await image.evaluate((img: HTMLImageElement) => [img.naturalWidth, img.naturalHeight])).toEqual([
      64, 64,
    ]);
    // The seed shown is the random one the server chose: the one written into the PNG.
    const seed = (await page.locator('#result-seed').textContent()) ?? '';
    expect(seed).toMatch(/^\d+$/);
    const png = new Uint8Array(await (await fetch(src)).arrayBuffer());
    expect(readPngText(png).parameters).toContain(
      `Steps: 4, Sampler: DDIM, CFG scale: 7.5, Seed: ${seed}, Size: 64x64`,
    );

    // What a screen reader heard, in order: sent, queued, (maybe generating), done with the seed.
    const heard = await statuses();
    expect(heard[0]).toBe('Sending…');
    expect(heard).toContain('Waiting in the queue…');
    expect(heard.at(-1)).toBe(`Done. Seed ${seed}.`);
    expect(
      heard.filter((text) => !['Sending…', 'Waiting in the queue…', 'Generating…'].includes(text)),
    ).toEqual([`Done. Seed ${seed}.`]);

    // Copy the share link, then open what was copied.
    await page.getByRole('button', { name: 'Copy share link' }).click();
    await page.getByRole('status').filter({ hasText: 'Share link copied.' }).waitFor();
    const link = await page.evaluate(() => navigator.clipboard.readText());
    expect(link).toBe(await page.getByLabel('Share link').inputValue());
    expect(link).toMatch(new RegExp(`^${edge}/p/[0-9a-f]{64}$`));

    const share = await page.context().newPage();
    await share.goto(link);
    expect(await share.title()).toBe(`${prompt} · latent-edge`);
    expect(await share.locator('tr', { hasText: 'Prompt' }).first().locator('td').textContent()).toBe(prompt);
    expect(await share.locator('tr', { hasText: 'Seed' }).locator('td').textContent()).toBe(seed);
    expect(await share.locator('main img').getAttribute('src')).toBe(src);

    // Its Remix link opens the playground again (the key kept), filled in with the same parameters.
    await share.getByRole('link', { name: 'Remix' }).click();
    await modelsLoaded(share);
    expect(await share.getByLabel('Prompt', { exact: true }).inputValue()).toBe(prompt);
    expect(await share.getByLabel('Seed').inputValue()).toBe(seed);
    expect(await share.getByLabel('Steps').inputValue()).toBe('4');
    expect(await share.getByLabel('Width (pixels)').inputValue()).toBe('64');
    expect(problems).toEqual([]);
  });

  it("offers an SDXL model's buckets as one Size list and draws one of them through the real gpu-worker", async () => {
    const { page, problems } = await open(`/#key=${key}`);
    await modelsLoaded(page);
    await page.getByLabel('Model').selectOption('tiny-sdxl');
    // tiny-sdxl's buckets (wrangler.toml), default first; Width and Height give way to Size.
    const size = page.getByLabel('Size (pixels)');
    expect(await size.locator('option').allTextContents()).toEqual([
      '64x64',
      '96x64',
      '64x96',
      '128x64',
      '64x128',
    ]);
    expect(await size.inputValue()).toBe('64x64');
    expect(await page.getByLabel('Width (pixels)').isVisible()).toBe(false);
    expect(await page.getByLabel('Scheduler').inputValue()).toBe('euler');
    expect(await page.getByLabel('Guidance scale').inputValue()).toBe('5');

    const prompt = `a wide green field ${randomUUID().slice(0, 8)}`;
    await page.getByLabel('Prompt', { exact: true }).fill(prompt);
    await size.selectOption('128x64');
    await page.getByLabel('Steps').fill('3');
    await page.getByRole('button', { name: 'Generate' }).click();
    const image = page.getByRole('img', { name: prompt, exact: true });
    await image.waitFor({ timeout: 120_000 });
    await page.waitForFunction(
      () => (document.getElementById('result-image') as HTMLImageElement).naturalWidth > 0,
    );
    expect(await image.evaluate((img: HTMLImageElement) => [img.naturalWidth, img.naturalHeight])).toEqual([
      128, 64,
    ]);
    const png = new Uint8Array(await (await fetch((await image.getAttribute('src')) ?? '')).arrayBuffer());
    const parameters = readPngText(png).parameters ?? '';
    expect(parameters).toContain('Steps: 3, Sampler: Euler, CFG scale: 5');
    expect(parameters).toContain('Size: 128x64');
    expect(parameters).toContain('Model: tiny-sdxl');

    // Back to the SD 1.x model: Width and Height again.
    await page.getByLabel('Model').selectOption('tiny-sd');
    expect(await page.getByLabel('Width (pixels)').isVisible()).toBe(true);
    expect(await size.isVisible()).toBe(false);
    expect(problems).toEqual([]);
  });

  it("offers the model's LoRAs and draws with the chosen one through the real gpu-worker", async () => {
    const { page, problems } = await open(`/#key=${key}`);
    await modelsLoaded(page);
    const models = (await (
      await fetch(`${edge}/v1/models`, { headers: { Authorization: `Bearer ${key}` } })
    ).json()) as {
      data: { id: string; loras: { name: string; sha256: string }[] }[];
    };
    const loras = models.data.find((m) => m.id === 'tiny-sd')?.loras ?? [];
    expect(loras.length).toBeGreaterThan(0);
    const picker = page.getByLabel('LoRA', { exact: true });
    expect(await picker.locator('option').allTextContents()).toEqual(['None', ...loras.map((l) => l.name)]);
    // tiny-sdxl has none: the picker goes away, and comes back with tiny-sd.
    await page.getByLabel('Model').selectOption('tiny-sdxl');
    expect(await picker.isVisible()).toBe(false);
    await page.getByLabel('Model').selectOption('tiny-sd');
    expect(await picker.isVisible()).toBe(true);

    const prompt = `a white star on a green background ${randomUUID().slice(0, 8)}`;
    await page.getByLabel('Prompt', { exact: true }).fill(prompt);
    await page.getByLabel('Width (pixels)').selectOption('64');
    await page.getByLabel('Height (pixels)').selectOption('64');
    await page.getByLabel('Steps').fill('4');
    await picker.selectOption(loras[0].name);
    await page.getByLabel('LoRA weight').fill('0.9');
    await page.getByRole('button', { name: 'Generate' }).click();
    const image = page.getByRole('img', { name: prompt, exact: true });
    await image.waitFor({ timeout: 120_000 });
    const png = new Uint8Array(await (await fetch((await image.getAttribute('src')) ?? '')).arrayBuffer());
    // The gpu-worker merged it: its infotext names the file's hash, as A1111 writes it.
    expect(readPngText(png).parameters).toContain(
      `Lora hashes: "${loras[0].name}: ${loras[0].sha256.slice(0, 12)}"`,
    );
    expect(problems).toEqual([]);
  });

  it('moves the progress bar and shows previews from the real event stream, then the image', async () => {
    const { page, problems } = await open(`/#key=${key}`);
    await modelsLoaded(page);
    // 256 × 256, 50 steps: a few seconds on CPU, long enough to watch.
    const prompt = `a yellow star at the top on a purple background ${randomUUID().slice(0, 8)}`;
    await page.getByLabel('Prompt', { exact: true }).fill(prompt);
    await page.getByLabel('Width (pixels)').selectOption('256');
    await page.getByLabel('Height (pixels)').selectOption('256');
    await page.getByLabel('Steps').fill('50');
    await page.evaluate(() => {
      const bar = document.getElementById('progress') as HTMLProgressElement;
      const values: number[] = [];
      Object.assign(window, { barValues: values });
      new MutationObserver(() => values.push(bar.value)).observe(bar, { attributeFilter: ['value'] });
    });
    const previews = await record(page, 'preview');
    const streamed = page.waitForResponse((r) => /\/v1\/jobs\/[^/]+\/events$/.test(r.url()));

    await page.getByRole('button', { name: 'Generate' }).click();
    expect((await streamed).headers()['content-type']).toBe('text/event-stream');
    const image = page.getByRole('img', { name: prompt, exact: true });
    await image.waitFor({ timeout: 120_000 });
    await page.waitForFunction(
      () => (document.getElementById('result-image') as HTMLImageElement).naturalWidth === 256,
    );

    // The bar moved forward through the job, many times, never back.
    const values = await page.evaluate(() => (window as unknown as { barValues: number[] }).barValues);
    expect(new Set(values).size).toBeGreaterThanOrEqual(5);
    for (let i = 1; i < values.length; i++) expect(values[i]).toBeGreaterThanOrEqual(values[i - 1]);
    // Preview frames arrived as WebP data: URLs the browser decoded.
    const frames = (await previews()).filter((src) => src.startsWith('data:image/webp;base64,'));
    expect(frames.length).toBeGreaterThanOrEqual(1);
    expect(problems).toEqual([]);
  });

  it('parses the event stream format exactly: CRLF and LF, comments, queue positions', async () => {
    // The stream as GET /v1/jobs/:id/events is specified (issue 9): the real job runs, and this
    // route answers with its events once it is finished, the final one carrying the real job
    // view. Mixed CRLF and LF line ends and a keep-alive comment, as a parser must accept.
    const { page, problems } = await open(`/#key=${key}`);
    await modelsLoaded(page);
    const streamed: { authorization?: string; accept?: string }[] = [];
    await page.route('**/v1/jobs/*/events', async (route) => {
      const headers = route.request().headers();
      streamed.push({ authorization: headers.authorization, accept: headers.accept });
      const job = new URL(route.request().url()).pathname.replace(/\/events$/, '');
      const view = await finishedJob(job);
      const events = [
        'id: 1\r\nevent: queued\r\ndata: {"position":2}\r\n\r\n',
        ': keep-alive\n\n',
        'id: 2\nevent: queued\ndata: {"position":1}\n\n',
        'id: 3\nevent: progress\ndata: {"step":2,"steps":4,"elapsed_ms":40,"eta_ms":1500}\n\n',
        `id: 4\nevent: preview\ndata: {"step":2,"steps":4,"width":8,"height":8,"image":"${WEBP_1X1}"}\n\n`,
        'id: 5\r\nevent: progress\r\ndata: {"step":4,"steps":4,"elapsed_ms":80,"eta_ms":0}\r\n\r\n',
        `id: 6\nevent: done\ndata: ${JSON.stringify(view)}\n\n`,
      ];
      await route.fulfill({ status: 200, contentType: 'text/event-stream', body: events.join('') });
    });
    const prompt = `a blue triangle ${randomUUID().slice(0, 8)}`;
    await page.getByLabel('Prompt', { exact: true }).fill(prompt);
    await page.getByLabel('Steps').fill('4');
    const statuses = await record(page, 'status');
    const progress = await record(page, 'progress-text');
    const previews = await record(page, 'preview');

    await page.getByRole('button', { name: 'Generate' }).click();
    const image = page.getByRole('img', { name: prompt, exact: true });
    await image.waitFor({ timeout: 120_000 });
    await page.waitForFunction(
      () => (document.getElementById('result-image') as HTMLImageElement).naturalWidth > 0,
    );

    expect(streamed).toEqual([{ authorization: `Bearer ${key}`, accept: 'text/event-stream' }]);
    expect(await progress()).toEqual([
      'Queued',
      'Queue position 2',
      'Next in the queue',
      'Step 2 of 4, about 2 s left',
      'Step 4 of 4',
    ]);
    expect(await previews()).toEqual([WEBP_1X1]);
    const seed = (await page.locator('#result-seed').textContent()) ?? '';
    expect(await statuses()).toEqual([
      'Sending…',
      'Waiting in the queue…',
      'Generating…',
      `Done. Seed ${seed}.`,
    ]);
    expect(await page.locator('#progress-box').isHidden()).toBe(true);
    expect(problems).toEqual([]);
  });

  it('cancels a running job with the Cancel button', async () => {
    const { page, problems } = await open(`/#key=${key}`);
    await modelsLoaded(page);
    // The largest size and most steps: long enough on CPU to be cancelled before it ends.
    await page.getByLabel('Prompt', { exact: true }).fill(`a slow green square ${randomUUID().slice(0, 8)}`);
    await page.getByLabel('Width (pixels)').selectOption('256');
    await page.getByLabel('Height (pixels)').selectOption('256');
    await page.getByLabel('Steps').fill('50');
    const created = page.waitForResponse((r) => r.url() === `${edge}/v1/images` && r.status() === 202);
    await page.getByRole('button', { name: 'Generate' }).click();
    const job = (await (await created).json()) as { id: string };

    const cancel = page.getByRole('button', { name: 'Cancel' });
    await expect.poll(() => cancel.isEnabled()).toBe(true);
    await cancel.click();
    await page.getByRole('status').filter({ hasText: 'Cancelled.' }).waitFor();
    expect(await cancel.isDisabled()).toBe(true);
    expect(await page.locator('#result').isHidden()).toBe(true);
    const view = await fetch(`${edge}/v1/jobs/${job.id}`, { headers: { Authorization: `Bearer ${key}` } });
    expect(((await view.json()) as { status: string }).status).toBe('cancelled');
    expect(problems).toEqual([]);
  });

  it('says so in the alert region, and returns to the key field, when the key is refused', async () => {
    const { page, problems } = await open('/#key=le_not-a-real-key');
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toBe('Models: this API key is not valid');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('api-key');
    // The one console error is the browser's own note of the 401.
    expect(problems).toEqual([expect.stringContaining('401')]);
  });
});
