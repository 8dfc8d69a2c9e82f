// Where a webhook may be sent: https on a public host. Refused: other schemes, credentials in the
// URL, `localhost`/`.local`/`.internal` names, and IP literals in private, loopback, link-local,
// shared (CGNAT), benchmarking, multicast or reserved ranges (IPv4 and IPv6, including
// IPv4-mapped IPv6). Names are not resolved here (a Worker cannot pin DNS), so this stops the
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

/** `address` without brackets. Unspecified, loopback, unique-local, link-local, multicast, mapped v4. */
export function isBlockedIpv6(address: string): boolean {
  const a = address.toLowerCase();
  if (a === '::' || a === '::1') return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (mapped) return isBlockedIpv4(mapped[1]);
  // The WHATWG URL parser writes mapped addresses in hex: ::ffff:7f00:1.
  const mappedHex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(a);
  if (mappedHex) {
    const n = Number.parseInt(mappedHex[1], 16) * 65536 + Number.parseInt(mappedHex[2], 16);
    return isBlockedIpv4([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.'));
  }
  const first = Number.parseInt(a.split(':')[0] || '0', 16);
  return (first & 0xfe00) === 0xfc00 || (first & 0xffc0) === 0xfe80 || (first & 0xff00) === 0xff00;
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
  if (host === 'localhost' || /\.(localhost|local|internal|home\.arpa)$/.test(host)) {
    throw refuse('is a local name');
  }
  const ipv6 = host.startsWith('[') ? host.slice(1, -1) : undefined;
  if ((ipv6 !== undefined && isBlockedIpv6(ipv6)) || isBlockedIpv4(host)) {
    throw refuse('is a private, loopback, link-local or reserved address');
  }
  return url.href;
}
