import { isIPv4, isIPv6 } from 'node:net';

/**
 * The per-IP rate limit bucket of a client address. An IPv4 address is its own bucket, also when
 * it arrives IPv4-mapped (`::ffff:1.2.3.4`, as a dual-stack socket or a proxy may write it): else
 * one client would have two buckets. An IPv6 address counts with its /64: that is what one
 * subscriber gets (one home, one phone), and a client can pick any of its 2^64 addresses, so a
 * bucket per address would be no limit at all.
 */
export function ipBucketKey(address: string | undefined): string {
  if (!address) return '';
  // A link-local address may carry a zone (`fe80::1%eth0`): the interface, not the client.
  const ip = address.replace(/%.*$/, '');
  if (isIPv4(ip) || !isIPv6(ip)) return ip;
  const groups = ipv6Groups(ip);
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const [hi, lo] = [groups[6]!, groups[7]!];
    return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  }
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address (`::` expanded, a trailing dotted IPv4 as two groups). */
function ipv6Groups(ip: string): number[] {
  let text = ip.toLowerCase();
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const front = head ? head.split(':') : [];
  if (tail === undefined) return front.map((g) => parseInt(g, 16));
  const back = tail ? tail.split(':') : [];
  const zeros = Array<string>(8 - front.length - back.length).fill('0');
  return [...front, ...zeros, ...back].map((g) => parseInt(g, 16));
}
