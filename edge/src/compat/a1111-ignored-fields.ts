// What a txt2img request asked for that does not happen here. A1111's pydantic models ignore
// fields they do not know, and clients send many A1111 features (alwayson_scripts for ControlNet
// or ADetailer, hires fix, face restoration): they are accepted, as A1111 accepts them, but a
// field set to anything but its "off" value gets a warning in the answer's `info`, so the caller
// learns the image was made without it.
import { describeValue } from '@latent-edge/shared/protocol/validation-error';

/** Fields that only say how A1111 stores or sends results: nothing for the image to lack. */
const INERT = new Set([
  'send_images',
  'save_images',
  'do_not_save_samples',
  'do_not_save_grid',
  'override_settings_restore_afterwards',
  'sampler_index',
  'force_task_id',
  'infotext',
]);

/** null, false, "", [] and {}: a feature left off. */
function isOff(value: unknown): boolean {
  if (value === null || value === false || value === '') return true;
  if (Array.isArray(value)) return value.length === 0;
  return typeof value === 'object' && Object.keys(value as object).length === 0;
}

function describe(value: unknown): string {
  if (value !== null && typeof value === 'object' && !Array.isArray(value))
    return `{${Object.keys(value)
      .slice(0, 5)
      .map((name) => name.slice(0, 40))
      .join(', ')}}`;
  // Bounded, whatever the value's size or depth (a client's field is not ours to stringify whole).
  return describeValue(value);
}

/**
 * Warnings for the fields of `body` outside `honoured` (and for override_settings' keys other
 * than those honoured there), e.g. `alwayson_scripts: {controlnet} is ignored: …`.
 */
export function ignoredFieldWarnings(
  body: Record<string, unknown>,
  honoured: ReadonlySet<string>,
  honouredSettings: ReadonlySet<string>,
): string[] {
  const warnings: string[] = [];
  const warn = (field: string, value: unknown) =>
    warnings.push(`${field}: ${describe(value)} is ignored: this server does not support it`);
  for (const [field, value] of Object.entries(body)) {
    if (field === 'override_settings' && value && typeof value === 'object') {
      for (const [setting, v] of Object.entries(value)) {
        if (!honouredSettings.has(setting)) warn(`override_settings.${setting}`, v);
      }
    } else if (!honoured.has(field) && !INERT.has(field) && !isOff(value)) {
      warn(field, value);
    }
  }
  return warnings;
}
