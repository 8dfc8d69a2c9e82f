// A clock a test moves by hand, for fakes that keep time (leases, delays, timeouts): passing a
// 30-second visibility timeout becomes `clock.advance(30_000)`, so such a test neither waits nor
// depends on how fast the machine is.

export interface ManualClock {
  now: () => number;
  advance: (ms: number) => void;
}

export function manualClock(startMs = Date.UTC(2026, 0, 1)): ManualClock {
  let nowMs = startMs;
  return {
    now: () => nowMs,
    advance(ms) {
      if (ms < 0) throw new Error('a clock does not go back');
      nowMs += ms;
    },
  };
}
