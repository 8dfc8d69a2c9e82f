// A CPU profile of generate() alone, run in a fresh Node process by pipeline.ts so the profiler
// perturbs none of its timings: a few warm-up generations, then `count` generations under the V8
// sampling profiler. Prints one JSON line: the JavaScript functions with the most self time, in ms
// per generation (the model's native run and idle time left out, but totalled).
//   generate-profile.ts <model dir> <size> <count> <intra-op threads>
import { Session } from 'node:inspector/promises';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadDiffusionModel } from '../../../gpu-worker/src/model/diffusion-model.ts';
import { generate } from '../../../gpu-worker/src/pipeline/generate.ts';
import { TextEncoderCache } from '../../../gpu-worker/src/pipeline/text-encoder-cache.ts';
import { request } from '../../../gpu-worker/test/support/models.ts';

export interface GenerateProfile {
  wallMsPerGeneration: number;
  /** Self time outside JavaScript: the native session runs (and other native calls without a JS frame). */
  nativeMs: number;
  idleMs: number;
  /** The rest of the profile's time, per function: "name (file)", ms per generation. */
  top: [string, number][];
}

const WARMUP = 5;
const TOP = 15;
/** µs between samples: fine enough for ~100 µs of JavaScript between UNet calls. */
const SAMPLING_US = 50;

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
}

async function profile(dir: string, size: number, count: number, threads: number): Promise<GenerateProfile> {
  const model = await loadDiffusionModel(dir, { providers: ['cpu'], intraOpThreads: threads });
  const req = request(model, { steps: 20, width: size, height: size, scheduler: 'euler' });
  for (let i = 0; i < WARMUP; i++) await generate(model, req, new TextEncoderCache());
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: SAMPLING_US });
  await session.post('Profiler.start');
  const start = performance.now();
  for (let i = 0; i < count; i++) await generate(model, req, new TextEncoderCache());
  const wallMs = performance.now() - start;
  const { profile: p } = await session.post('Profiler.stop');
  session.disconnect();
  await model.release();

  const nodes = new Map((p.nodes as ProfileNode[]).map((n) => [n.id, n]));
  const selfUs = new Map<string, number>();
  let nativeUs = 0;
  let idleUs = 0;
  // A sample stands for the time until the next one (timeDeltas[i] is the gap before sample i).
  (p.samples ?? []).forEach((id, i) => {
    const frame = nodes.get(id)?.callFrame;
    const us = p.timeDeltas?.[i + 1] ?? 0;
    if (!frame || frame.functionName === '(idle)') idleUs += us;
    else if (frame.url === '' && frame.functionName === '') nativeUs += us;
    else {
      const file = frame.url.startsWith('file:')
        ? relative(process.cwd(), fileURLToPath(frame.url)).replace(/^.*node_modules\//, '')
        : frame.url || 'native';
      const key = `${frame.functionName || '(anonymous)'} (${file})`;
      selfUs.set(key, (selfUs.get(key) ?? 0) + us);
    }
  });
  const perGeneration = (us: number) => us / 1000 / count;
  return {
    wallMsPerGeneration: wallMs / count,
    nativeMs: perGeneration(nativeUs),
    idleMs: perGeneration(idleUs),
    top: [...selfUs]
      .sort((a, b) => b[1] - a[1])
      .slice(0, TOP)
      .map(([key, us]) => [key, perGeneration(us)]),
  };
}

const [dir, size, count, threads] = process.argv.slice(2);
console.log(JSON.stringify(await profile(dir, Number(size), Number(count), Number(threads))));
