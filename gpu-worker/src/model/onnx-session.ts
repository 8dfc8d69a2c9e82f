// Creates onnxruntime sessions with the configured execution providers, in preference order
// (cuda, webgpu, cpu), falling back to the next with a logged reason when one cannot start.
// Sessions are created from file paths so external weight files (unet/weights.pb,
// model.onnx_data) resolve beside model.onnx (SD-NOTES §1.1).
import { InferenceSession, listSupportedBackends } from 'onnxruntime-node';

export const EXECUTION_PROVIDERS = ['cuda', 'webgpu', 'cpu'] as const;
export type ExecutionProvider = (typeof EXECUTION_PROVIDERS)[number];

export interface SessionSettings {
  /** Providers to try, in order; cpu is always the last resort. */
  providers: readonly ExecutionProvider[];
  /** Threads inside one operator; 0 lets onnxruntime choose (one per physical core). */
  intraOpThreads: number;
  log?: (message: string) => void;
}

export interface OpenedSession {
  session: InferenceSession;
  provider: ExecutionProvider;
}

function available(): Set<string> {
  return new Set(listSupportedBackends().map((b) => b.name));
}

/** `source` is a path, or a graph's bytes (a LoRA-merged copy; `label` names it in messages). */
export async function createSession(
  source: string | Uint8Array,
  settings: SessionSettings,
  label = typeof source === 'string' ? source : 'an in-memory graph',
): Promise<OpenedSession> {
  const supported = available();
  const wanted = [...settings.providers.filter((p) => p !== 'cpu'), 'cpu' as const];
  const failures: string[] = [];
  for (const provider of wanted) {
    if (!supported.has(provider)) {
      failures.push(`${provider}: not in this onnxruntime-node build`);
      continue;
    }
    try {
      const options: InferenceSession.SessionOptions = {
        executionProviders: [provider],
        graphOptimizationLevel: 'all',
        intraOpNumThreads: settings.intraOpThreads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        enableCpuMemArena: true,
        enableMemPattern: true,
        logSeverityLevel: 3,
        // Idle pool threads would otherwise spin between runs, taking the CPU that Node needs for
        // HTTP, scheduling and image encoding between UNet calls (measured: 64 → 36 ms per call
        // on 2 busy cores).
        extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
      };
      const session =
        typeof source === 'string'
          ? await InferenceSession.create(source, options)
          : await InferenceSession.create(source, options);
      if (failures.length > 0) settings.log?.(`${label}: fell back to ${provider} (${failures.join('; ')})`);
      return { session, provider };
    } catch (error) {
      failures.push(`${provider}: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  throw new Error(`cannot open ${label}: ${failures.join('; ')}`);
}
