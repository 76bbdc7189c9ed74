// Loader for the keepalived captures in test/fixtures/vrrp (see its README),
// plus checks that the files themselves are what the golden tests assume.
import { expect } from 'chai';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { formatIp } from '../../../lib/net/ip-address.js';
import { decodeAdvert } from '../../../lib/vrrp/packet/advert.js';

// Compiled tests live in dist/test/vrrp/packet; the fixtures stay in the source tree.
export const FIXTURE_DIR = fileURLToPath(new URL('../../../../test/fixtures/vrrp/', import.meta.url));

export interface CapturedPacket {
  bytes: Buffer; // from the IP header on
  family: 4 | 6;
  src: string;
  dst: string;
  ttl: number; // TTL or hop limit
  nextHeader: number;
  payload: Buffer; // after the IP header
  tcpdump: string; // tcpdump's -v decode of this packet
}

export function loadFixture(name: string): CapturedPacket[] {
  const text = readFileSync(`${FIXTURE_DIR}${name}.hex`, 'utf8');
  const out: CapturedPacket[] = [];
  let comments: string[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) {
      comments.push(line.slice(1).trim());
      continue;
    }
    if (line.trim() === '') continue;
    if (!/^([0-9a-f]{2})+$/.test(line)) throw new Error(`${name}: not a hex packet line: ${line.slice(0, 40)}`);
    out.push(splitIp(Buffer.from(line, 'hex'), comments.join(' ')));
    comments = [];
  }
  return out;
}

// Just enough IP parsing for tests, independent of lib/vrrp/packet/ipv4.ts.
function splitIp(bytes: Buffer, tcpdump: string): CapturedPacket {
  const version = (bytes[0] ?? 0) >> 4;
  if (version === 4) {
    const ihl = ((bytes[0] ?? 0) & 0x0f) * 4;
    return {
      bytes, family: 4, tcpdump,
      src: formatIp(bytes.subarray(12, 16)), dst: formatIp(bytes.subarray(16, 20)),
      ttl: bytes[8] ?? 0, nextHeader: bytes[9] ?? 0, payload: bytes.subarray(ihl),
    };
  }
  if (version === 6) {
    return {
      bytes, family: 6, tcpdump,
      src: formatIp(bytes.subarray(8, 24)), dst: formatIp(bytes.subarray(24, 40)),
      ttl: bytes[7] ?? 0, nextHeader: bytes[6] ?? 0, payload: bytes.subarray(40, 40 + bytes.readUInt16BE(4)),
    };
  }
  throw new Error(`IP version ${version}`);
}

export const VRRP_CASES = ['v2-ipv4-pass', 'v2-ipv4', 'v3-ipv4', 'v3-ipv6', 'v3-ipv4-unicast', 'v3-ipv4-priority0', 'v3-ipv4-fast'] as const;
export const OTHER_CASES = ['ndisc-unsolicited-na'] as const;


describe('vrrp/packet fixtures', () => {
  it('every capture in the directory is covered by the golden tests, and each has its keepalived config', () => {
    const hexes = readdirSync(FIXTURE_DIR).filter((f) => f.endsWith('.hex')).map((f) => f.slice(0, -4)).sort();
    expect(hexes).to.deep.equal([...VRRP_CASES, ...OTHER_CASES].sort());
    for (const name of hexes) {
      expect(existsSync(`${FIXTURE_DIR}${name}.conf`), `${name}.conf`).to.equal(true);
      expect(readFileSync(`${FIXTURE_DIR}${name}.conf`, 'utf8')).to.match(/vrrp_instance/);
    }
  });

  it('each VRRP capture holds at least one protocol-112 packet at TTL/hop limit 255', () => {
    for (const name of VRRP_CASES) {
      const pkts = loadFixture(name);
      expect(pkts.length, name).to.be.greaterThan(0);
      for (const p of pkts) {
        expect(p.nextHeader, name).to.equal(112);
        expect(p.ttl, name).to.equal(255);
      }
    }
  });

  it("our decode agrees with tcpdump's own reading of vrid, priority and interval", () => {
    for (const name of VRRP_CASES) {
      for (const p of loadFixture(name)) {
        const m = /vrid (\d+), prio (\d+),(?: authtype \w+,)? intvl (\d+)(cs|s)/.exec(p.tcpdump);
        expect(m, `${name}: ${p.tcpdump}`).to.not.equal(null);
        const d = decodeAdvert(p.payload, p.family);
        if (!d.ok) throw new Error(`${name}: ${d.reason} ${d.detail}`);
        expect(d.advert.vrid).to.equal(Number(m?.[1]));
        expect(d.advert.priority).to.equal(Number(m?.[2]));
        expect(d.advert.advertIntCs).to.equal(Number(m?.[3]) * (m?.[4] === 's' ? 100 : 1));
      }
    }
  });
});
