import { describe, expect, it } from 'vitest';
import { ipBucketKey } from './ipBucket';

describe('ipBucketKey: which client addresses share a per-IP bucket', () => {
  it.each([
    ['203.0.113.9', '203.0.113.9'],
    ['::ffff:203.0.113.9', '203.0.113.9'],
    ['::FFFF:203.0.113.9', '203.0.113.9'],
    ['::ffff:cb00:7109', '203.0.113.9'],
    ['0:0:0:0:0:ffff:cb00:7109', '203.0.113.9'],
  ])('an IPv4 address, mapped or not, is itself: %s → %s', (address, key) => {
    expect(ipBucketKey(address)).toBe(key);
  });

  it.each([
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['2001:db8::ffff:1', '2001:db8:0:0::/64'],
    ['2001:0DB8:0000:0000:1234:5678:9abc:def0', '2001:db8:0:0::/64'],
    ['2001:db8:0:1::1', '2001:db8:0:1::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
  ])('an IPv6 address is its /64: %s → %s', (address, key) => {
    expect(ipBucketKey(address)).toBe(key);
  });

  it('leaves anything else as it is, and no address as no key', () => {
    expect(ipBucketKey('unix-socket')).toBe('unix-socket');
    expect(ipBucketKey(undefined)).toBe('');
    expect(ipBucketKey('')).toBe('');
  });
});
