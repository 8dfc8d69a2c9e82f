// Which tier's queue a model's pull round asks first. Interactive work (someone waits) goes
// first, but every (weight + 1)-th round starts with batch, so when both queues have work about
// weight of weight + 1 pulls go to interactive and batch work never starves. A round whose first
// queue is empty (or has fewer messages than free slots) goes on to the other, so a quiet tier
// never leaves slots idle while the other has work.
import type { Tier } from '@latent-edge/shared/protocol/dispatch';

export class TierPicker {
  private round = 0;

  constructor(
    /** Interactive rounds per batch round. */
    private readonly weight: number,
    /** The tiers this model has queues for. */
    private readonly tiers: readonly Tier[],
  ) {}

  /** The tiers to pull from this round, in order. */
  next(): Tier[] {
    const hasBoth = this.tiers.includes('interactive') && this.tiers.includes('batch');
    if (!hasBoth) return [...this.tiers];
    const batchFirst = this.round % (this.weight + 1) === this.weight;
    this.round++;
    return batchFirst ? ['batch', 'interactive'] : ['interactive', 'batch'];
  }
}
