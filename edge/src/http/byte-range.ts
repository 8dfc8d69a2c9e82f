// `Range: bytes=…` for one range (RFC 9110 §14.1.2). Several ranges, or a header that is not a
// valid byte range, are ignored (a full 200 is a correct answer to both); a valid range that
// starts past the end is unsatisfiable (416).
export interface ByteRange {
  offset: number;
  length: number;
}

export function parseByteRange(header: string, size: number): ByteRange | 'unsatisfiable' | undefined {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    const length = Math.min(suffix, size);
    return { offset: size - length, length };
  }
  const start = Number(match[1]);
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (match[2] !== '' && Number(match[2]) < start) return undefined;
  if (start >= size) return 'unsatisfiable';
  return { offset: start, length: end - start + 1 };
}

/** If-None-Match against a strong ETag, with the weak comparison RFC 9110 §13.1.2 prescribes. */
export function etagMatches(ifNoneMatch: string, etag: string): boolean {
  const bare = (tag: string) => tag.trim().replace(/^W\//, '');
  return ifNoneMatch.split(',').some((tag) => tag.trim() === '*' || bare(tag) === bare(etag));
}
