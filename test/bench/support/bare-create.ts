// A fresh process that opens every graph of a model folder with InferenceSession.create (through
// createSession, the worker's settings) and prints the time per graph and the peak RSS as JSON:
// the baseline the full-size benchmark sets the gpu-worker's load time against.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createSession } from '../../../gpu-worker/src/model/onnx-session.ts';

const [dir, threads = '1'] = process.argv.slice(2);
const GRAPHS = ['text_encoder', 'text_encoder_2', 'unet', 'vae_decoder', 'vae_encoder'];
const graphs: Record<string, number> = {};
const start = performance.now();
for (const graph of GRAPHS) {
  const path = join(dir, graph, 'model.onnx');
  if (!existsSync(path)) continue;
  const t = performance.now();
  await createSession(path, { providers: ['cpu'], intraOpThreads: Number(threads) });
  graphs[graph] = performance.now() - t;
}
const totalMs = performance.now() - start;
console.log(JSON.stringify({ graphs, totalMs, maxRssMb: process.resourceUsage().maxRSS / 1024 }));
