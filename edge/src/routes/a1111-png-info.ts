// POST /sdapi/v1/png-info (A1111 modules/api/api.py `pnginfoapi`): the generation parameters a PNG
// carries. `info` is its `parameters` text chunk (the infotext), `items` its other text chunks
// (A1111's `read_info_from_image` pops `parameters` out of them), and `parameters` the infotext
// read back as A1111's dict. A1111 answers `info: ""` for an image it cannot open; here a body that
// is not base64 or not a PNG is a 400 naming `image`, so a client learns what it sent wrong.
import { parseInfotext } from '@latent-edge/shared/infotext';
import { Hono } from 'hono';
import { z } from 'zod';
import { PngTextError, readPngText } from '../compat/png-text.ts';
import type { AppEnv } from '../env.ts';
import { ApiError } from '../http/api-error.ts';
import { readJson } from '../http/read-json.ts';

export const a1111PngInfo = new Hono<AppEnv>();

export const PngInfoRequest = z.looseObject({
  image: z.string().min(1),
});

const FIELD = 'image';

function badImage(message: string): ApiError {
  return new ApiError(400, 'invalid_image', `image: ${message}`, { field: FIELD });
}

/** Base64, with or without a `data:image/png;base64,` prefix (A1111 accepts both). */
function decodeImage(text: string): Uint8Array {
  const base64 = text.trim().replace(/^data:[^,]*;base64,/, '');
  let binary: string;
  try {
    binary = atob(base64);
  } catch {
    throw badImage('is not valid base64');
  }
  return Uint8Array.from(binary, (ch) => ch.charCodeAt(0));
}

a1111PngInfo.post('/png-info', async (c) => {
  const body = await readJson(c, PngInfoRequest, c.var.config.MAX_BODY_BYTES);
  let items: Record<string, string>;
  try {
    items = await readPngText(decodeImage(body.image));
  } catch (error) {
    if (error instanceof PngTextError) throw badImage(error.message);
    throw error;
  }
  const { parameters: info = '', ...others } = items;
  return c.json({ info, items: others, parameters: parseInfotext(info) });
});
