// Whether an image is in R2, for the result cache. An object's name is the hash of everything
// that decides its pixels and it is written once, never rewritten (image-objects.ts), so once an
// isolate has seen it there (a HEAD found it, or the isolate wrote it) it remembers that, and the
// next identical request needs no R2 call. An object not found is never remembered: it may be
// written the next moment.
//
// The Worker deletes no images (Discord's Delete button removes the message, not the object;
// cancelling a job stops the gpu-worker). One deleted from the bucket by hand, a takedown say,
// may still be answered as a cache hit by an isolate that remembers it, for at most REMEMBER_MS.
import { TimedMemory } from '../memory/timed-memory.ts';

/** How long "it is in R2" is trusted without asking R2 again. */
export const REMEMBER_MS = 5 * 60_000;
/** Object names held per isolate (about 70 bytes each). */
export const MAX_REMEMBERED = 10_000;

const known = new TimedMemory<true>(MAX_REMEMBERED);

export function rememberStored(name: string, at = Date.now()): void {
  known.learn(name, true, at);
}

/** Whether the object `name` is in the bucket: from memory when it was seen lately, else one HEAD. */
export async function isStored(bucket: R2Bucket, name: string, now = Date.now()): Promise<boolean> {
  if (known.recall(name, REMEMBER_MS, now)) return true;
  const head = await bucket.head(name);
  if (head) rememberStored(name, now);
  return head !== null;
}
