// Pull mode's configuration: off unless PULL_QUEUES is set, and then complete and consistent
// with the served models, or start-up refuses with a message naming each bad variable.
import { describe, expect, it } from 'vitest';
import { BUNDLED_MODEL_DIR, ConfigError, loadConfig } from '../src/config.ts';

const base = { GPU_SHARED_SECRET: 'x'.repeat(32), MODELS: `tiny-sd=${BUNDLED_MODEL_DIR}` };
const pull = {
  ...base,
  PULL_QUEUES: 'tiny-sd:interactive=0123abcd,tiny-sd:batch=4567ef89',
  EDGE_URL: 'https://edge.example/',
  QUEUES_ACCOUNT_ID: 'acct',
  QUEUES_API_TOKEN: 'token',
};

const problems = (env: Record<string, string>) => {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error('the configuration was accepted');
};

describe('pull mode configuration', () => {
  it('is off without PULL_QUEUES, with the defaults in place', () => {
    const config = loadConfig({ ...base, PORT: '9001' });
    expect(config.PULL_QUEUES).toEqual([]);
    expect(config.QUEUES_API_URL).toBe('https://api.cloudflare.com/client/v4');
    expect(config.PULL_VISIBILITY_TIMEOUT_MS).toBe(config.JOB_TIMEOUT_MS + 60_000);
    expect(config.WORKER_NAME).toMatch(/:9001$/);
    expect([config.INTERACTIVE_WEIGHT, config.PULL_IDLE_MAX_MS, config.PULL_MAX_ATTEMPTS]).toEqual([
      4, 2000, 4,
    ]);
  });

  it('reads each model tier and its queue id', () => {
    const config = loadConfig({ ...pull, WORKER_NAME: 'gpu-7', PULL_VISIBILITY_TIMEOUT_MS: '900000' });
    expect(config.PULL_QUEUES).toEqual([
      { model: 'tiny-sd', tier: 'interactive', queueId: '0123abcd' },
      { model: 'tiny-sd', tier: 'batch', queueId: '4567ef89' },
    ]);
    expect(config.EDGE_URL).toBe('https://edge.example');
    expect(config.WORKER_NAME).toBe('gpu-7');
    expect(config.PULL_VISIBILITY_TIMEOUT_MS).toBe(900_000);
  });

  it('requires the edge and the Queues credentials once PULL_QUEUES is set', () => {
    const message = problems({ ...base, PULL_QUEUES: pull.PULL_QUEUES });
    for (const name of ['EDGE_URL', 'QUEUES_ACCOUNT_ID', 'QUEUES_API_TOKEN'])
      expect(message).toContain(`${name} is required when PULL_QUEUES is set`);
  });

  it('refuses unserved models, unknown tiers, repeats, bad URLs and short visibility timeouts', () => {
    expect(problems({ ...pull, PULL_QUEUES: 'sd-xl:batch=abc' })).toContain(
      'PULL_QUEUES: model "sd-xl" is not served here',
    );
    expect(problems({ ...pull, PULL_QUEUES: 'tiny-sd:urgent=abc' })).toContain('tier "urgent"');
    expect(problems({ ...pull, PULL_QUEUES: 'tiny-sd:batch=a,tiny-sd:batch=b' })).toContain('listed twice');
    expect(problems({ ...pull, PULL_QUEUES: 'tiny-sd=abc' })).toContain('<model>:<tier>=<queue id>');
    expect(problems({ ...pull, EDGE_URL: 'ftp://edge' })).toContain(
      'EDGE_URL=ftp://edge: must be an http(s) URL',
    );
    expect(problems({ ...pull, JOB_TIMEOUT_MS: '600000', PULL_VISIBILITY_TIMEOUT_MS: '600000' })).toContain(
      'PULL_VISIBILITY_TIMEOUT_MS=600000: must be above JOB_TIMEOUT_MS',
    );
    expect(problems({ ...pull, PULL_VISIBILITY_TIMEOUT_MS: String(13 * 3_600_000) })).toContain(
      'PULL_VISIBILITY_TIMEOUT_MS',
    );
    expect(problems({ ...pull, INTERACTIVE_WEIGHT: '0' })).toContain('INTERACTIVE_WEIGHT=0');
  });
});
