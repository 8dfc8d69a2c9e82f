// The README's picture: the local stack (as `npm start` runs it, in a temporary folder), the
// playground in Debian's headless Chromium, one prompt generated, the page captured.
//   npx tsx infra/dev/screenshot.ts [--out docs/playground.png] [--prompt "…"]
import { parseArgs } from 'node:util';
import { launchChromium } from '../../test/support/browser.ts';
import { startTestStack } from '../../test/support/local-stack.ts';

const { values } = parseArgs({
  options: {
    out: { type: 'string', default: 'docs/playground.png' },
    prompt: { type: 'string', default: 'a large red circle in the center on a blue background' },
    // The bundled model's native size; larger sizes repeat its 64-pixel world.
    size: { type: 'string', default: '64' },
  },
});

const env = await startTestStack();
const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 }, deviceScaleFactor: 1 });
  await page.goto(`${env.info.edgeUrl}/#key=${env.info.apiKey}`);
  await page.getByRole('status').filter({ hasText: 'Ready.' }).waitFor();
  await page.getByLabel('Prompt', { exact: true }).fill(values.prompt);
  await page.getByLabel('Width (pixels)').selectOption(values.size);
  await page.getByLabel('Height (pixels)').selectOption(values.size);
  await page.getByLabel('Seed').fill('7');
  await page.getByRole('button', { name: 'Generate' }).click();
  await page.waitForFunction(
    () => ((document.getElementById('result-image') as HTMLImageElement | null)?.naturalWidth ?? 0) > 0,
    undefined,
    { timeout: 120_000 },
  );
  await page.screenshot({ path: values.out, fullPage: true });
  console.log(`wrote ${values.out}`);
} finally {
  await browser.close();
  await env.close();
}
