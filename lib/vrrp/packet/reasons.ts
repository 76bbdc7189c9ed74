// Why a received advert was dropped, or accepted with a complaint. One name per
// counter, so the driver can count drops the way keepalived's SIGUSR2 stats do.

// In the order the receive path checks them (decodeIpv4 first, then
// checkAdvert in keepalived's order, see shared/reference/vrrp.md), so a
// packet with two faults is reported under the earlier name.
export const DROP_REASONS = [
  'ip-header', // IPv4 header unusable: version, IHL, header checksum, fragment
  'truncated', // shorter than the headers it must carry
  'unknown-vrid', // not our virtual router (caller usually demuxes with peekVrid)
  'not-ready', // instance in INIT, FAULT or STOP: adverts are ignored
  'multicast-on-unicast', // sent to a multicast group, instance uses unicast peers
  'unicast-on-multicast', // sent to a unicast address, instance uses multicast
  'length', // VRRP length != header + count * address size (+ 8 auth bytes in v2)
  'ttl', // multicast advert with TTL/hop limit != 255 (RFC 5798 7.1)
  'version', // version nibble differs from the instance's (or v2 over IPv6)
  'auth-type', // v2 auth type unknown or not the configured one (RFC 3768 7.1)
  'auth-failure', // v2 simple-text password mismatch
  'advert-interval', // v2 advert interval differs from ours (RFC 3768 7.1: MUST drop)
  'type', // type != 1 (ADVERTISEMENT)
  'ip-length', // IPv4 total length != bytes received
  'checksum', // VRRP checksum wrong in the configured form
  'unicast-src', // check_unicast_src: source is not a configured peer
  'own-address', // a valid advert from this node's own source address: another host has it (clone, duplicate)
] as const;

export type DropReason = (typeof DROP_REASONS)[number];

// Accepted, but worth a log line and a counter.
export const WARNINGS = [
  'advert-interval-mismatch', // v3: the master's interval differs (we adopt it, RFC 5798 6.4.2)
  'address-list-mismatch', // the advert's addresses differ from our VIPs (RFC 5798 7.1 MAY)
] as const;

export type Warning = (typeof WARNINGS)[number];

export function isDropReason(x: unknown): x is DropReason {
  return typeof x === 'string' && (DROP_REASONS as readonly string[]).includes(x);
}
