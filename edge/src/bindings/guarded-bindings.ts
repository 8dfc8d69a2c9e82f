// The bindings as the routes see them: a call to R2, KV, the Queue or a Durable Object that
// fails (an outage, a reset or overloaded object, a write limit) becomes one typed 503 with
// Retry-After, so the client retries instead of reading a 500 as a bug. The binding's own error
// goes to the log through the cause. An error thrown by our own Durable Object code (marked
// `remote` by the runtime) is a bug, not an outage, and passes unchanged; so does an ApiError.
import { HTTPException } from 'hono/http-exception';
import { ApiError } from '../http/api-error.ts';

/** Seconds a client waits before trying again: a Cloudflare storage blip lasts about that. */
const RETRY_AFTER_SECONDS = 5;

const STORAGE: readonly (keyof Env)[] = ['IMAGES', 'API_KEYS', 'EMBEDDINGS', 'JOBS'];
const OBJECTS: readonly (keyof Env)[] = [
  'RATE_LIMITER',
  'JOB_STATE',
  'A1111_SESSION',
  'COMFY_HUB',
  'FAIR_SHARE',
  'DISPATCH_GAUGE',
  'KEY_USAGE',
  'OPERATOR_COUNTERS',
];
/** Namespace methods that hand back a stub, whose calls are the ones that fail. */
const STUB_FACTORIES = new Set<PropertyKey>(['get', 'getByName']);

function unavailable(binding: string, cause: unknown): unknown {
  if (cause instanceof HTTPException) return cause;
  if ((cause as { remote?: unknown } | null)?.remote === true) return cause;
  return new ApiError(503, 'storage_unavailable', `${binding} is unavailable for a moment; retry shortly`, {
    headers: { 'Retry-After': String(RETRY_AFTER_SECONDS) },
    cause,
  });
}

/** Calls `run`, turning a throw or a rejection into the binding's 503. */
function guarded(binding: string, run: () => unknown): unknown {
  let result: unknown;
  try {
    result = run();
  } catch (error) {
    throw unavailable(binding, error);
  }
  if (result instanceof Promise || typeof (result as PromiseLike<unknown> | null)?.then === 'function') {
    return Promise.resolve(result as PromiseLike<unknown>).catch((error: unknown) => {
      throw unavailable(binding, error);
    });
  }
  return result;
}

/** `target` with each method call guarded; `wrapResult` for calls that return another binding. */
function guardMethods<T extends object>(binding: string, target: T, wrapResult?: Set<PropertyKey>): T {
  return new Proxy(target, {
    get(object, prop) {
      const value = Reflect.get(object, prop);
      if (typeof value !== 'function') return value;
      // Reflect.apply, not value.apply: on an RPC stub every property, `apply` too, is a remote call.
      const call = (args: unknown[]) => Reflect.apply(value, object, args);
      if (wrapResult?.has(prop)) {
        // A stub factory answers at once with the stub (never a promise): guard the stub's calls.
        return (...args: unknown[]) => {
          let stub: unknown;
          try {
            stub = call(args);
          } catch (error) {
            throw unavailable(binding, error);
          }
          return stub && typeof stub === 'object' ? guardMethods(binding, stub) : stub;
        };
      }
      return (...args: unknown[]) => guarded(binding, () => call(args));
    },
  });
}

export function guardBindings(env: Env): Env {
  const guardedEnv: Record<string, unknown> = { ...env };
  for (const name of STORAGE) {
    if (env[name]) guardedEnv[name] = guardMethods(name, env[name] as object);
  }
  for (const name of OBJECTS) {
    if (env[name]) guardedEnv[name] = guardMethods(name, env[name] as object, STUB_FACTORIES);
  }
  return guardedEnv as unknown as Env;
}
