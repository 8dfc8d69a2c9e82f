// A graph's files as byte ranges, and sessions opened from a changed copy of them. A LoRA merge
// (lora/) and textual-inversion rows (embeddings/) both change a few initializers of a graph
// whose external data can be gigabytes: model.onnx is held in memory, external files are read by
// range, and the copy opens from memory when it has no external data, else from a private
// temporary folder (model.onnx written, a changed external file copied and written in place,
// untouched ones symlinked) that is removed at once: onnxruntime has read or mapped every byte by then.
// The copy is asynchronous (libuv's thread pool): a full-size UNet's 3.4 GB data file took 11.7 s
// to copy, and a synchronous copy held every other request on the event loop for all of it.
import { closeSync, openSync, readSync } from 'node:fs';
import { copyFile, mkdtemp, open, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createSession, type OpenedSession, type SessionSettings } from './onnx-session.ts';

/**
 * Reads a byte range of the graph: `file` is '' for model.onnx itself, else an external data file
 * as model.onnx names it. Ranges, not whole files: a full-size UNet's data file is 3.4 GB (10 GB for
 * SDXL), past what one Node buffer holds.
 */
export type GraphReader = (file: string, offset: number, length: number) => Uint8Array;

/** model.onnx's own bytes, as `file` in reads and writes (no external file has an empty name). */
export const MODEL_FILE = '';

/** New bytes for a range of one of the graph's external files. */
export interface GraphWrite {
  file: string;
  offset: number;
  bytes: Uint8Array;
}

/** Ranges of `model` (the graph at `path`, possibly changed) and of the external files beside it. */
export function rangeReader(path: string, model: Uint8Array): GraphReader {
  const dir = dirname(path);
  return (file, offset, length) => {
    if (file === MODEL_FILE) return model.subarray(offset, offset + length);
    const bytes = new Uint8Array(length);
    const fd = openSync(join(dir, file), 'r');
    try {
      let done = 0;
      while (done < length) {
        const n = readSync(fd, bytes, done, length - done, offset + done);
        if (n === 0) throw new Error(`${join(dir, file)} ends before byte ${offset + length}`);
        done += n;
      }
    } finally {
      closeSync(fd);
    }
    return bytes;
  };
}

/**
 * A session for the graph at `path` with `model` as its model.onnx and `writes` applied to its
 * external files (`externalFiles`, as model.onnx names them).
 */
export async function openGraphCopy(
  path: string,
  model: Uint8Array,
  externalFiles: readonly string[],
  writes: readonly GraphWrite[],
  settings: SessionSettings,
  label: string,
): Promise<OpenedSession> {
  if (externalFiles.length === 0) return createSession(model, settings, label);
  const dir = dirname(path);
  const tmp = await mkdtemp(join(tmpdir(), 'latent-edge-graph-'));
  try {
    await writeFile(join(tmp, 'model.onnx'), model);
    for (const file of externalFiles) {
      const own = writes.filter((w) => w.file === file);
      if (own.length === 0) {
        await symlink(resolve(dir, file), join(tmp, file));
        continue;
      }
      await copyFile(join(dir, file), join(tmp, file));
      const handle = await open(join(tmp, file), 'r+');
      try {
        for (const write of own) await handle.write(write.bytes, 0, write.bytes.length, write.offset);
      } finally {
        await handle.close();
      }
    }
    return await createSession(join(tmp, 'model.onnx'), settings, label);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
