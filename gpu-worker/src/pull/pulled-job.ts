// One pulled message, start to end: skip it if its deadline has passed, claim the job from the
// edge, run the envelope the claim answers with exactly as POST /v1/generate runs one (job-intake),
// post progress while it runs, then post the result (or a failure report) and say what to do with
// the message. The message is acknowledged only after the edge has answered the result post:
// until then the job may be lost with this worker, and a redelivery must run it again.
import type { DispatchMessage, Tier } from '@latent-edge/shared/protocol/dispatch';
import { admitJob, type JobIntakeDeps } from '../service/job-intake.ts';
import type { Metrics } from '../service/metrics.ts';
import { resultEnvelope } from '../service/result-envelope.ts';
import type { EdgeClient } from './edge-client.ts';
import { classifyFailure, type JobFailure, planFailure, type QueueAction } from './failure-policy.ts';
import { ProgressReporter, type StopReason } from './progress-reporter.ts';
import type { PulledMessage } from './queues-client.ts';

export interface PulledJobDeps {
  intake: JobIntakeDeps;
  edge: EdgeClient;
  metrics: Metrics;
  workerName: string;
  /** Deliveries after which a retryable failure is reported as final. */
  maxAttempts: number;
  log: (message: string) => void;
  progressIntervalMs?: number;
}

export interface PulledJobHooks {
  /** Called once, when the job is in the batcher or the run ended before it got there. */
  leftHand: () => void;
}

const ACK: QueueAction = { kind: 'ack' };

export async function runPulledJob(
  deps: PulledJobDeps,
  pulled: PulledMessage,
  message: DispatchMessage,
  tier: Tier,
  hooks: PulledJobHooks,
): Promise<QueueAction> {
  let handedOver = false;
  const handOver = () => {
    if (!handedOver) hooks.leftHand();
    handedOver = true;
  };
  try {
    return await run(deps, pulled, message, tier, handOver);
  } finally {
    handOver();
  }
}

async function run(
  deps: PulledJobDeps,
  pulled: PulledMessage,
  message: DispatchMessage,
  tier: Tier,
  handOver: () => void,
): Promise<QueueAction> {
  const { edge, log } = deps;
  const id = message.job_id;
  if (message.deadline <= Date.now()) {
    log(`job ${id}: its deadline passed before it was pulled; skipped`);
    return ACK;
  }

  // 1. Claim: the edge answers with the job envelope and a lease, or says why not.
  let claim: Awaited<ReturnType<EdgeClient['claim']>>;
  try {
    claim = await edge.claim({
      job_id: id,
      worker: deps.workerName,
      message_id: pulled.id,
      attempts: pulled.attempts,
    });
  } catch (error) {
    // No claim, no token to report with: the message comes back later (or dead-letters).
    const { queue } = planFailure(classifyFailure(error), pulled.attempts, Number.POSITIVE_INFINITY);
    log(`job ${id}: claim failed (${(error as Error).message}); retrying the message`);
    return queue;
  }
  if (claim.kind === 'held-elsewhere') return { kind: 'retry', delaySeconds: claim.retryAfterSeconds };
  if (claim.kind === 'refused') {
    log(`job ${id}: not claimed (${claim.reason}); skipped`);
    return ACK;
  }
  deps.metrics.queueWaitSeconds.observe(
    { model: message.model, tier },
    Math.max(0, Date.now() - pulled.timestamp_ms) / 1000,
  );
  const { token } = claim;
  const fail = (failure: JobFailure) => reportFailure(deps, id, token, pulled.attempts, failure);

  // 2. Run it in the batcher, as POST /v1/generate would.
  let admitted: Awaited<ReturnType<typeof admitJob>>;
  try {
    admitted = await admitJob(deps.intake, claim.envelope, { deadline: message.deadline });
  } catch (error) {
    return fail(classifyFailure(error));
  }
  handOver();
  const { job, spec, model, release } = admitted;
  let stopReason: StopReason | undefined;
  const reporter = new ProgressReporter({
    edge,
    job,
    token,
    expiresAt: claim.expiresAt,
    intervalMs: deps.progressIntervalMs,
    log,
    onStop: (reason) => {
      stopReason = reason;
      log(`job ${id}: stopping (${reason === 'cancelled' ? 'cancelled at the edge' : 'lease lost'})`);
      job.cancel();
    },
  });
  let envelope: Uint8Array;
  try {
    envelope = resultEnvelope(job, model, await job.done, spec.return_embeddings);
  } catch (error) {
    await reporter.stop();
    // Another attempt holds the job now: its report is the one that counts.
    if (stopReason === 'lease-lost') return ACK;
    return fail(classifyFailure(error));
  } finally {
    release();
  }
  await reporter.stop();

  // 3. Deliver the result; only the edge's answer makes the message safe to acknowledge.
  try {
    const answer = await edge.result(id, token, envelope);
    if (answer.outcome === 'duplicate') log(`job ${id}: another attempt's result came first`);
    return ACK;
  } catch (error) {
    return fail(classifyFailure(error));
  }
}

/** Posts the failure as the policy words it; a report the edge never got is retried with the message. */
async function reportFailure(
  deps: PulledJobDeps,
  jobId: string,
  token: string,
  attempts: number,
  failure: JobFailure,
): Promise<QueueAction> {
  const plan = planFailure(failure, attempts, deps.maxAttempts);
  deps.log(`job ${jobId}: ${plan.report.retryable ? 'retryable' : 'final'} failure: ${plan.report.message}`);
  try {
    await deps.edge.failure({
      ...plan.report,
      message: plan.report.message.slice(0, 2000),
      job_id: jobId,
      token,
    });
    return plan.queue;
  } catch (error) {
    deps.log(
      `job ${jobId}: failure report not delivered (${(error as Error).message}); retrying the message`,
    );
    return planFailure(classifyFailure(error), attempts, Number.POSITIVE_INFINITY).queue;
  }
}
