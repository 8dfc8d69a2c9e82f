// How many messages a model's pull may take now. A slot is one job of MAX_BATCH: the jobs the
// model's StepBatcher is running, starting or has waiting (pushed or pulled, it cannot tell), plus the
// messages this worker has pulled but not yet handed to the batcher (claims in flight), since
// those become jobs a moment later. Never below zero: pushed jobs may overfill the batch.

export interface SlotCounts {
  maxBatch: number;
  running: number;
  /** Leaving the queue for the running set: prompts being encoded. */
  starting: number;
  waiting: number;
  /** Pulled messages not yet in the batcher. */
  held: number;
}

export function freeSlots({ maxBatch, running, starting, waiting, held }: SlotCounts): number {
  return Math.max(0, maxBatch - running - starting - waiting - held);
}
