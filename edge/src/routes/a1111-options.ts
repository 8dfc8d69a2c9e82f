// GET and POST /sdapi/v1/options (A1111 modules/api/api.py `get_config`, `set_config`). A1111's
// options are the web UI's settings; the one its clients set through the API is
// `sd_model_checkpoint`, which picks the model of later txt2img requests that name none in
// `override_settings`. Here it is remembered per API key (its A1111Session), not for everyone.
// Other settings are accepted and ignored, as A1111 stores settings it does not use.
import { Hono } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../env.ts';
import { findModel, servedModels } from '../generation/served-models.ts';
import { readJson } from '../http/read-json.ts';
import { checkpointModel } from './a1111.ts';

export const a1111Options = new Hono<AppEnv>();

export const A1111OptionsRequest = z.looseObject({
  sd_model_checkpoint: z.string().max(200).optional(),
});

/** Options bodies are small: a settings dict. */
const MAX_OPTIONS_BYTES = 64 * 1024;

a1111Options.get('/options', async (c) => {
  const chosen = await c.env.A1111_SESSION.getByName(c.var.apiKey.id).checkpoint();
  // A model dropped from the configuration since it was chosen falls back to the default.
  const served = servedModels(c.var.config);
  const model = served.find((m) => m.config.id === chosen) ?? served[0];
  const hash = model.revision.slice(0, 10);
  return c.json({
    sd_model_checkpoint: `${model.config.id} [${hash}]`,
    sd_checkpoint_hash: hash,
    sd_vae: 'Automatic',
    CLIP_stop_at_last_layers: 1,
    eta_noise_seed_delta: 0,
    randn_source: 'CPU',
    samples_format: 'png',
    enable_pnginfo: true,
    live_previews_enable: true,
    live_preview_content: 'Combined',
    show_progress_every_n_steps: -1,
    sd_lora: 'None',
  });
});

a1111Options.post('/options', async (c) => {
  const body = await readJson(c, A1111OptionsRequest, MAX_OPTIONS_BYTES);
  if (body.sd_model_checkpoint !== undefined) {
    const model = findModel(c.var.config, checkpointModel(body.sd_model_checkpoint), 'sd_model_checkpoint');
    await c.env.A1111_SESSION.getByName(c.var.apiKey.id).setCheckpoint(model.config.id);
  }
  return c.json(null);
});
