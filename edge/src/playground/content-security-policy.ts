// The playground's Content-Security-Policy: nothing from any other origin, and of inline code only
// the page's own script and stylesheet, allowed by their SHA-256 (CSP Level 3, "hash-source").
// Images come from this origin (or PUBLIC_URL's, where image URLs point) and, for previews, from
// data: URLs; the script talks to this origin only. Trusted Types are required, so no string can
// reach an HTML or script sink even if the script someday tried.

/** The `'sha256-…'` source expression that allows an inline element with exactly this text. */
export async function hashSource(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
  return `'sha256-${btoa(String.fromCharCode(...digest))}'`;
}

export interface PolicySources {
  script: string;
  style: string;
  /** An origin other than the page's that image URLs point at (PUBLIC_URL), if any. */
  imageOrigin?: string;
}

export function contentSecurityPolicy({ script, style, imageOrigin }: PolicySources): string {
  return [
    "default-src 'none'",
    `script-src ${script}`,
    `style-src ${style}`,
    `img-src 'self' data:${imageOrigin ? ` ${imageOrigin}` : ''}`,
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    "require-trusted-types-for 'script'",
  ].join('; ');
}
