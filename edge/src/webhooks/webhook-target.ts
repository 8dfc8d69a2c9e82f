// Where a webhook may be sent: https on a public host. Refused: other schemes, credentials in the
// URL, dotless and `localhost`/`.local`/`.internal` names, and IP literals in private, loopback,
// link-local, shared (CGNAT), benchmarking, multicast or reserved ranges (IPv4 and IPv6, with the
// IPv6 forms that carry an IPv4 address judged by it: mapped, compatible, NAT64, 6to4). Names are not resolved here (a Worker cannot pin DNS), so this stops the
// direct forms; fetches also refuse redirects. ALLOW_LOCAL_WEBHOOKS lifts it for local development.
import { ApiError } from '../http/api-error.ts';

const FIELD = 'webhook';

/** [first address as a number, prefix length] */
const BLOCKED_V4: [string, number][] = [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
];

function ipv4ToNumber(address: string): number | undefined {
  const parts = address.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return undefined;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

export function isBlockedIpv4(address: string): boolean {
  const n = ipv4ToNumber(address);
  if (n === undefined) return false;
  return BLOCKED_V4.some(([base, bits]) => {
    const size = 2 ** (32 - bits);
    const start = ipv4ToNumber(base) as number;
    return n >= start && n < start + size;
  });
}

/** The eight 16-bit groups of an IPv6 address (without brackets), or undefined when it is not one. */
function ipv6Groups(address: string): number[] | undefined {
  let text = address.toLowerCase();
  // A trailing dotted IPv4 (::ffff:1.2.3.4) is the last two groups.
  const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const n = ipv4ToNumber(dotted[2]);
    if (n === undefined) return undefined;
    text = `${dotted[1]}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parse = (part: string) => (part === '' ? [] : part.split(':'));
  const head = parse(halves[0]);
  const tail = halves.length === 2 ? parse(halves[1]) : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [...head, ...Array(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  if (groups.some((g) => !/^[0-9a-f]{1,4}$/.test(g))) return undefined;
  return groups.map((g) => Number.parseInt(g, 16));
}

function embeddedIpv4(high: number, low: number): string {
  return [high >>> 8, high & 255, low >>> 8, low & 255].join('.');
}

/**
 * `address` without brackets. Blocked: unspecified, loopback, IPv4-compatible (::/96), unique-
 * and site-local, link-local, multicast, Teredo, documentation and discard prefixes; forms that
 * carry an IPv4 address (mapped ::ffff:0:0/96, translated ::ffff:0:0:0/96, NAT64 64:ff9b::/96,
 * 6to4 2002::/16) are judged by that address, and local-use NAT64 (64:ff9b:1::/48) is blocked.
 */
export function isBlockedIpv6(address: string): boolean {
  const g = ipv6Groups(address);
  if (!g) return false;
  const zeros = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  if (zeros(0, 6)) return true;
  if (zeros(0, 5) && g[5] === 0xffff) return isBlockedIpv4(embeddedIpv4(g[6], g[7]));
  if (zeros(0, 4) && g[4] === 0xffff && g[5] === 0) return isBlockedIpv4(embeddedIpv4(g[6], g[7]));
  if (g[0] === 0x64 && g[1] === 0xff9b) {
    return zeros(2, 6) ? isBlockedIpv4(embeddedIpv4(g[6], g[7])) : g[2] === 1;
  }
  if (g[0] === 0x2002) return isBlockedIpv4(embeddedIpv4(g[1], g[2]));
  if (g[0] === 0x2001 && (g[1] === 0 || g[1] === 0xdb8)) return true;
  if (g[0] === 0x100 && zeros(1, 4)) return true;
  const first = g[0];
  return (
    (first & 0xfe00) === 0xfc00 ||
    (first & 0xffc0) === 0xfe80 ||
    (first & 0xffc0) === 0xfec0 ||
    (first & 0xff00) === 0xff00
  );
}

/** The webhook URL, normalised; throws a 400 naming the rule it breaks. */
export function checkWebhookTarget(value: string, allowLocal: boolean): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ApiError(
      400,
      'invalid_request',
      `${FIELD}: ${JSON.stringify(value.slice(0, 100))} is not a URL`,
      {
        field: FIELD,
      },
    );
  }
  const refuse = (rule: string) =>
    new ApiError(400, 'invalid_request', `${FIELD}: ${url.origin} ${rule}`, { field: FIELD });
  if (url.username || url.password) throw refuse('must not carry credentials');
  if (allowLocal) {
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw refuse('must be http(s)');
    return url.href;
  }
  if (url.protocol !== 'https:') throw refuse('must use https');
  const host = url.hostname.toLowerCase().replace(/\.$/, '');
  const ipv6 = host.startsWith('[') ? host.slice(1, -1) : undefined;
  // A name without a dot is resolved through the resolver's search domains: an internal host.
  const dotless = ipv6 === undefined && !host.includes('.');
  if (dotless || host === 'localhost' || /\.(localhost|local|internal|home\.arpa)$/.test(host)) {
    throw refuse('is a local name');
  }
  if ((ipv6 !== undefined && isBlockedIpv6(ipv6)) || isBlockedIpv4(host)) {
    throw refuse('is a private, loopback, link-local or reserved address');
  }
  return url.href;
}
