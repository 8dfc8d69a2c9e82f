// A real browser for tests: Debian's Chromium (`apt-get install chromium`; .ci/run installs it),
// driven by playwright-core, which never downloads a browser of its own. Headless, without the
// sandbox (CI runs as root) and without background traffic to Google's services.
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * Why browser tests cannot run here, or undefined when they can. Outside CI a missing Chromium
 * skips them (with this message); in CI, where .ci/run installs it, it is a failure.
 */
export function browserUnavailable(): string | undefined {
  if (existsSync(CHROMIUM_PATH) || process.env.CI) return undefined;
  return `browser tests skipped: no ${CHROMIUM_PATH} (apt-get install chromium)`;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}
