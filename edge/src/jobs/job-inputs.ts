// A queued job's input images (img2img's init image, inpainting's mask) wait in R2 under their
// SHA-256 while the job is queued: the queue message carries only the prepared record, which
// names them by hash, and the consumer reads them back before it runs the job.
import type { Prepared, PreparedGeneration } from '../generation/prepare-generation.ts';
import { initImageKey } from './queue-message.ts';

export async function storeJobInputs(bucket: R2Bucket, prepared: Prepared): Promise<void> {
  const { generation, initImage, mask } = prepared;
  const puts: Promise<unknown>[] = [];
  if (initImage && generation.initImageSha256)
    puts.push(bucket.put(initImageKey(generation.initImageSha256), initImage));
  if (mask && generation.inpaint) puts.push(bucket.put(initImageKey(generation.inpaint.maskSha256), mask));
  await Promise.all(puts);
}

export async function loadJobInputs(
  bucket: R2Bucket,
  generation: PreparedGeneration,
): Promise<Omit<Prepared, 'generation'>> {
  const read = async (sha256: string | undefined, what: string) => {
    if (!sha256) return undefined;
    const object = await bucket.get(initImageKey(sha256));
    if (!object) throw new Error(`${what} ${sha256} is gone`);
    return new Uint8Array(await object.arrayBuffer());
  };
  const [initImage, mask] = await Promise.all([
    read(generation.initImageSha256, 'init image'),
    read(generation.inpaint?.maskSha256, 'mask'),
  ]);
  return { initImage, ...(mask && { mask }) };
}
