// Trouble a test asks the fake Cloudflare Queues API (fake-queues.ts) for, to see a client cope:
// the next N requests of one kind answer with a 5xx, before doing anything or after doing their
// work (the answer was lost: a pull's leases were taken, an ack counted), or answer late. A delay
// is real time (a client's timeout is real time too); it is spent before the request is handled.

export type QueuesRoute = 'push' | 'push-batch' | 'pull' | 'ack';

export interface Failure {
  status: number;
  /** True: the request is carried out, then the answer is a 5xx anyway. */
  afterProcessing: boolean;
}

interface Planned {
  route: QueuesRoute;
  remaining: number;
  failure?: Failure;
  delayMs?: number;
}

export class FaultPlan {
  readonly #planned: Planned[] = [];

  fail(route: QueuesRoute, count: number, failure: Failure): void {
    if (failure.status < 500 || failure.status > 599) throw new Error('an injected failure is a 5xx');
    this.#planned.push({ route, remaining: count, failure });
  }

  delay(route: QueuesRoute, count: number, delayMs: number): void {
    this.#planned.push({ route, remaining: count, delayMs });
  }

  /** What happens to this request (at most one failure and one delay); counts it against the plan. */
  take(route: QueuesRoute): { failure?: Failure; delayMs?: number } {
    const taken: { failure?: Failure; delayMs?: number } = {};
    for (const plan of this.#planned) {
      if (plan.route !== route || plan.remaining === 0) continue;
      if (plan.failure && !taken.failure) {
        taken.failure = plan.failure;
        plan.remaining--;
      } else if (plan.delayMs !== undefined && taken.delayMs === undefined) {
        taken.delayMs = plan.delayMs;
        plan.remaining--;
      }
    }
    return taken;
  }
}
