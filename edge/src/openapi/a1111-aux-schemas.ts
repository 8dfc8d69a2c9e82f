// What the auxiliary AUTOMATIC1111 routes answer (edge/src/routes/a1111-progress.ts,
// a1111-options.ts, a1111-png-info.ts and /schedulers), in the shapes A1111 clients parse.
import { z } from 'zod';

export const A1111Progress = z.strictObject({
  progress: z.number().min(0).max(1).describe('Of the running job: steps done / steps; 0 when idle.'),
  eta_relative: z.number().min(0).describe('Seconds of denoising left at the pace so far; 0 when idle.'),
  state: z.strictObject({
    skipped: z.boolean(),
    interrupted: z.boolean().describe('POST /sdapi/v1/interrupt (or /skip) stopped the job.'),
    stopping_generation: z.boolean(),
    job: z.string().describe('"txt2img" while a job runs, "" when idle.'),
    job_count: z.int().min(0),
    job_timestamp: z.string().describe('yyyymmddhhmmss when the job started; "0" when idle.'),
    job_no: z.int().min(0),
    sampling_step: z.int().min(0),
    sampling_steps: z.int().min(0).describe('0 while the job waits in a gpu-worker queue.'),
  }),
  current_image: z
    .base64()
    .nullable()
    .describe(
      'The latest live preview, base64 (a small WebP, where A1111 sends a PNG); null when idle, before the first preview, or with `?skip_current_image=true`.',
    ),
  textinfo: z.string().nullable().describe('"Queued: position n" while the job waits.'),
});

export const A1111Options = z
  .looseObject({
    sd_model_checkpoint: z
      .string()
      .describe(
        "This key's checkpoint title (`<id> [<revision>]`): the model of txt2img requests naming none.",
      ),
    sd_checkpoint_hash: z.string(),
  })
  .describe('A few of A1111’s settings, with the values that hold here.');

export const A1111Schedulers = z.array(
  z.strictObject({
    name: z.string().describe('Send it (or its label) as txt2img’s `scheduler`.'),
    label: z.string(),
    aliases: z.null(),
    default_rho: z.number().describe('ρ of the Karras schedule; −1 where there is none.'),
    need_inner_model: z.boolean(),
  }),
);

export const PngInfoResponse = z.strictObject({
  info: z.string().describe('The PNG’s `parameters` text chunk (the infotext); "" when it has none.'),
  items: z.record(z.string(), z.string()).describe('Its other text chunks (tEXt, zTXt, iTXt), by keyword.'),
  parameters: z
    .record(z.string(), z.string())
    .describe(
      'The infotext read as A1111 reads it: "Prompt", "Negative prompt", each `Key: value` as a string, `Size` split into `Size-1` and `Size-2`.',
    ),
});

export const A1111Interrupted = z.strictObject({}).describe('Always {}, as A1111 answers.');
