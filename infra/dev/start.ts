// `npm start`: the whole service on this machine. The gpu-worker on CPU with the bundled model (and
// the tiny SDXL-layout fixture, wrangler.toml's second model) and the edge under `wrangler dev`, wired together with generated local secrets and a local API key,
// then a ready-made playground link and curl. Ctrl-C or SIGTERM stops both (their whole process
// groups) and exits 0.
//
//   EDGE_PORT (8787), GPU_PORT (8788)                        where they listen, on 127.0.0.1
//   LATENT_EDGE_DEV_KEY                                      use this API key instead of a saved one
//   DISCORD_PUBLIC_KEY, DISCORD_APPLICATION_ID,              passed to the edge when set (a real
//   DISCORD_BOT_TOKEN, DISCORD_API_BASE                      application through a tunnel, or a fake)
//   MODELS, PROVIDERS, INTRA_OP_THREADS, …                   passed to the gpu-worker (infra/DEPLOY.md)
//
// Local state, all gitignored: `.dev.vars` (secrets), `.local/dev-key` (the generated key) and
// `.wrangler/state` (R2, KV, Durable Objects, Queues: the folder `npm run dev:edge` and
// `npm run keys` use too). `--state-dir DIR` keeps all of it in DIR instead: a throwaway stack.
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { watchLauncher } from './launcher-watch.ts';
import { portFromEnv } from './ports.ts';
import { LocalStack, type StackInfo, type StackSource } from './stack.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const DISCORD_VARS = [
  'DISCORD_PUBLIC_KEY',
  'DISCORD_APPLICATION_ID',
  'DISCORD_BOT_TOKEN',
  'DISCORD_API_BASE',
];

const USAGE = `npm start [-- --state-dir DIR]: runs the gpu-worker (CPU, the models wrangler.toml
declares) and the edge (wrangler dev) together, until Ctrl-C.

  --state-dir DIR   keep secrets, the API key and wrangler's local state in DIR
                    (default: .dev.vars, .local/ and .wrangler/state in the repository)

Environment:
  EDGE_PORT=8787  GPU_PORT=8788     ports on 127.0.0.1
  LATENT_EDGE_DEV_KEY=le_…          API key to use (default: generated once, saved for the next run)
  DISCORD_PUBLIC_KEY, DISCORD_APPLICATION_ID, DISCORD_BOT_TOKEN, DISCORD_API_BASE
                                    passed to the edge when set
  MODELS, PROVIDERS, INTRA_OP_THREADS, …  passed to the gpu-worker (see infra/DEPLOY.md)`;

interface Paths {
  devVars: string;
  keyFile: string;
  edgeEnv: string;
  persistTo: string;
}

function statePaths(stateDir: string | undefined): Paths {
  if (stateDir === undefined) {
    return {
      devVars: join(ROOT, '.dev.vars'),
      keyFile: join(ROOT, '.local/dev-key'),
      edgeEnv: join(ROOT, '.local/edge.env'),
      persistTo: join(ROOT, '.wrangler/state'),
    };
  }
  const dir = resolve(stateDir);
  return {
    devVars: join(dir, 'dev.vars'),
    keyFile: join(dir, 'dev-key'),
    edgeEnv: join(dir, 'edge.env'),
    persistTo: join(dir, 'state'),
  };
}

const say = (line: string) => console.log(`[start] ${line}`);
const relay = (source: StackSource, line: string) => console.log(`[${source}] ${line}`);
/** A path as the developer would type it: relative inside the working directory, else absolute. */
const shown = (path: string) => {
  const inside = relative(process.cwd(), path);
  return inside === '' ? '.' : inside.startsWith('..') ? path : inside;
};

function readyMessage(info: StackInfo, paths: Paths, seconds: number, discord: string[]): string {
  const models = info.models.map((m) => `${m.id}@${m.revision.slice(0, 10)} on ${m.provider}`).join(', ');
  const keyOrigin = {
    environment: 'from LATENT_EDGE_DEV_KEY',
    saved: `saved in ${shown(paths.keyFile)}`,
    generated: `new, saved in ${shown(paths.keyFile)} for the next run`,
  }[info.apiKeySource];
  const secrets = info.generatedSecrets.length
    ? `${shown(paths.devVars)} (generated ${info.generatedSecrets.join(', ')})`
    : shown(paths.devVars);
  const body = JSON.stringify({ prompt: 'a red circle on a blue background', seed: 42 });
  return [
    `ready in ${seconds.toFixed(1)} s`,
    '',
    `  edge        ${info.edgeUrl}   (wrangler dev; R2, KV, Durable Objects, Queues in ${shown(paths.persistTo)})`,
    `  gpu-worker  ${info.gpuUrl}   (${models})`,
    `  API key     ${info.apiKey}   (${keyOrigin})`,
    `  secrets     ${secrets}`,
    `  Discord     ${discord.length ? `${discord.join(', ')} from the environment` : 'not configured (set DISCORD_* to try it)'}`,
    '',
    'Try it:',
    '',
    `  ${info.edgeUrl}/#key=${info.apiKey}   (the playground, in a browser)`,
    '',
    `  curl -H "Authorization: Bearer ${info.apiKey}" -H "Content-Type: application/json" \\`,
    `    -d '${body}' ${info.edgeUrl}/v1/images`,
    '',
    'Ctrl-C stops both.',
  ].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { help: { type: 'boolean', short: 'h' }, 'state-dir': { type: 'string' } },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const env = process.env;
  const paths = statePaths(values['state-dir']);
  const discord = Object.fromEntries(
    DISCORD_VARS.filter((name) => env[name]).map((name) => [name, env[name] as string]),
  );
  const stack = new LocalStack({
    root: ROOT,
    edgePort: portFromEnv(env, 'EDGE_PORT', 8787),
    gpuPort: portFromEnv(env, 'GPU_PORT', 8788),
    persistTo: paths.persistTo,
    devVarsPath: paths.devVars,
    edgeEnvPath: paths.edgeEnv,
    keyFile: paths.keyFile,
    apiKey: env.LATENT_EDGE_DEV_KEY || undefined,
    edgeVars: discord,
    onLine: relay,
  });

  let exiting = false;
  const shutdown = async (reason: string, exitCode: number) => {
    if (exiting) return;
    exiting = true;
    say(`${reason}: stopping the edge and the gpu-worker`);
    await stack.stop();
    say('stopped');
    process.exit(exitCode);
  };
  // tsx relays the terminal's SIGINT too, so a handler may run twice: shutdown is idempotent.
  process.on('SIGINT', () => void shutdown('SIGINT', 0));
  process.on('SIGTERM', () => void shutdown('SIGTERM', 0));
  watchLauncher(() => void shutdown('the npm or shell that started this is gone', 0));
  stack.onCrash((source, child) => {
    void child.exited.then(({ code, signal }) =>
      shutdown(`the ${source === 'edge' ? 'edge' : 'gpu-worker'} exited (${signal ?? `code ${code}`})`, 1),
    );
  });

  say(`starting the gpu-worker on :${stack.options.gpuPort} and the edge on :${stack.options.edgePort}`);
  const started = performance.now();
  let info: StackInfo;
  try {
    info = await stack.start();
  } catch (error) {
    if (exiting) return; // a signal stopped the start; shutdown() exits
    console.error(`[start] ${(error as Error).message}`);
    process.exit(1);
  }
  console.log(readyMessage(info, paths, (performance.now() - started) / 1000, Object.keys(discord)));
}

main().catch((error: Error) => {
  console.error(`[start] ${error.message}`);
  process.exit(1);
});
