// The tokenizer inside workerd (the Workers runtime), loaded from its compiled form as the edge
// loads it, checked against every reference case: the same code runs unchanged in both runtimes.
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { signRequest, verifyRequest } from '../src/crypto/request-signing.ts';
import { ClipTokenizer, toModelInput } from '../src/tokenizer/clip-tokenizer.ts';
import { loadCompiledTokenizer, readCompiledTokenizer } from '../src/tokenizer/compiled-tokenizer.ts';

interface Bindings {
  CLIP_TOKENIZER?: ArrayBuffer;
  TOKENS_SD1?: string;
  TOKENS_SD2?: string;
  REFERENCE_MISSING?: string;
}
const bindings = env as unknown as Bindings;

describe.skipIf(!bindings.CLIP_TOKENIZER)('CLIP tokenizer in workerd', () => {
  for (const [name, source, sd2] of [
    ['tokens.json', bindings.TOKENS_SD1, false],
    ['tokens_sd2.json', bindings.TOKENS_SD2, true],
  ] as const) {
    it(`matches every case of ${name}`, () => {
      const reference = JSON.parse(source as string) as { cases: { text: string; ids: number[] }[] };
      const data = readCompiledTokenizer(bindings.CLIP_TOKENIZER as ArrayBuffer);
      const tokenizer = sd2
        ? new ClipTokenizer({ ...data, pad: 0 })
        : loadCompiledTokenizer(bindings.CLIP_TOKENIZER as ArrayBuffer);
      const failures = reference.cases.filter(
        (c) => JSON.stringify(toModelInput(tokenizer, tokenizer.encode(c.text))) !== JSON.stringify(c.ids),
      );
      console.log(
        `[reference] clip-tokenizer ${name} in workerd: ${reference.cases.length - failures.length}/${reference.cases.length} cases passed`,
      );
      expect(failures.map((c) => c.text)).toEqual([]);
    });
  }
});

describe('request signing in workerd', () => {
  it('verifies what it signs and rejects a changed body', async () => {
    const body = new TextEncoder().encode('{"job":1}');
    const headers = await signRequest('s3cret', body);
    const timestamp = headers['X-Latent-Timestamp'];
    const signature = headers['X-Latent-Signature'];
    expect(await verifyRequest('s3cret', body, timestamp, signature)).toEqual({ ok: true });
    expect(await verifyRequest('s3cret', new Uint8Array([1]), timestamp, signature)).toMatchObject({
      ok: false,
    });
  });
});
