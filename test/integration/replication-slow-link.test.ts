// Block replication over a slow link (a tbf qdisc on the Primary's side), with
// the default timeouts (timeout 6 s, ping_timeout 5 s). A link that carries
// data is alive: one 4 MiB write takes longer than ping_timeout to cross at
// 4 Mbit/s, and protocol A queues more than `timeout` of writes at 20 Mbit/s;
// neither may drop the link (both did: the first as "peer silent", the
// second as "no acknowledgement"). Found by an exploratory session.
import { expect } from 'chai';
import { Lab, type LabHost } from '../../scripts/lab/lab.js';
import { NBD_TOOLS, requireTools } from '../fixtures/nbd/tools.js';
import { cluster, inSync, qemuIo, sameImages, volume } from './block-lab.js';
import { labLifecycle } from './lab-hooks.js';

describe('block replication over a slow link, default timeouts', function () {
  this.timeout(180_000);
  const life = labLifecycle(['qemu-io', 'tc']);
  before(function () {
    requireTools(this, NBD_TOOLS);
  });

  const cases = [
    { protocol: 'C', rate: '4mbit', writes: ['write -P 0x42 0 4M'], why: 'one 4 MiB frame crosses for about 8 s' },
    { protocol: 'A', rate: '20mbit', writes: Array.from({ length: 24 }, (_, i) => `write -P 0x43 ${i}M 1M`), why: 'protocol A queues about 10 s of writes' },
  ] as const;
  for (const c of cases) {
    it(`protocol ${c.protocol} at ${c.rate}: ${c.why}, and the link stays up`, async () => {
      const lab = life.adopt(await Lab.create(2));
      await cluster(lab, { protocol: c.protocol, timeout: 6, pingTimeout: 5 }); // the documented defaults
      const [a, b] = lab.hosts as [LabHost, LabHost];
      const before = [(await volume(a)).peers[0]?.disconnects, (await volume(b)).peers[0]?.disconnects];
      // A queue of 250 ms, as a router's: with one of many seconds (an earlier `latency 30s`) our data queued
      // ahead of the peer's TCP acknowledgements for longer than ping_timeout, the peer's kernel backed off its
      // retransmission timer, its PINGs waited in its socket, and the link was dropped as silent (docs/replication.md).
      await lab.exec(a, ['tc', 'qdisc', 'add', 'dev', a.dev, 'root', 'tbf', 'rate', c.rate, 'burst', '32kb', 'latency', '250ms']);
      const started = Date.now();
      const out = await qemuIo(lab, a, ...c.writes);
      expect(out).to.not.match(/fail/i);
      await inSync(lab, a, 60_000);
      // The point of the test: the writes took longer to cross than ping_timeout and timeout.
      expect(Date.now() - started, 'ms the writes took to reach the peer').to.be.greaterThan(6000);
      await lab.exec(a, ['tc', 'qdisc', 'del', 'dev', a.dev, 'root']);
      expect([(await volume(a)).peers[0]?.disconnects, (await volume(b)).peers[0]?.disconnects], 'disconnects on a and b').to.deep.equal(before);
      await sameImages(lab);
    });
  }
});
