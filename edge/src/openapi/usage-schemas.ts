// GET /v1/usage's answer (and the operator's view of any key), as a zod schema for the document.
import { z } from 'zod';

const count = z.int().min(0);

const Totals = z.strictObject({
  jobs: count.describe('Finished jobs (a cache hit too).'),
  images: count.describe('Images the gpu-workers made (what the images/day quota counts).'),
  cached_images: count.describe('Images answered from the result cache, counted apart.'),
  step_pixels: count.describe('Σ steps × width × height of the images made.'),
  worker_seconds: z
    .number()
    .min(0)
    .describe('gpu-worker time of the jobs (their timings, less time queued there).'),
});

export const UsageView = z.strictObject({
  key: z.string().describe('The key id (or `discord:<user id>`).'),
  day: z.string().describe('The UTC day `today` covers, YYYY-MM-DD.'),
  month: z.string().describe('The UTC month `this_month` covers, YYYY-MM.'),
  today: Totals,
  this_month: Totals,
  total: Totals,
  reserved_images: count.describe('Images of admitted jobs still running; they count against today.'),
  quota: z.strictObject({
    images_per_day: count.nullable().describe('null: no daily image quota.'),
    worker_seconds_per_month: count.nullable().describe('null: no monthly worker-seconds quota.'),
  }),
  remaining: z.strictObject({
    images_today: count.nullable(),
    worker_seconds_this_month: z.number().min(0).nullable(),
  }),
  resets: z.strictObject({
    day_in_seconds: count.describe('Seconds until the next UTC midnight.'),
    month_in_seconds: count.describe('Seconds until the next UTC month.'),
  }),
});
