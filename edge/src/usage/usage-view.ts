// What GET /v1/usage and the operator's GET /v1/operator/keys/:id/usage answer: the key's usage
// today, this month and in total (from its KeyUsage object), its quota, and what remains of it.
import type { ApiKeyRecord } from '../auth/api-key.ts';
import { secondsToNextDay, secondsToNextMonth } from './usage-periods.ts';
import type { UsageReport } from './usage-types.ts';

export interface UsageView extends UsageReport {
  key: string;
  quota: {
    images_per_day: number | null;
    worker_seconds_per_month: number | null;
  };
  remaining: {
    images_today: number | null;
    worker_seconds_this_month: number | null;
  };
  resets: { day_in_seconds: number; month_in_seconds: number };
}

export function usageView(
  keyId: string,
  quota: ApiKeyRecord['quota'],
  report: UsageReport,
  now = Date.now(),
): UsageView {
  const images = quota?.images_per_day;
  const seconds = quota?.worker_seconds_per_month;
  return {
    key: keyId,
    ...report,
    quota: { images_per_day: images ?? null, worker_seconds_per_month: seconds ?? null },
    remaining: {
      images_today:
        images === undefined ? null : Math.max(0, images - report.today.images - report.reserved_images),
      worker_seconds_this_month:
        seconds === undefined ? null : Math.max(0, seconds - report.this_month.worker_seconds),
    },
    resets: { day_in_seconds: secondsToNextDay(now), month_in_seconds: secondsToNextMonth(now) },
  };
}
