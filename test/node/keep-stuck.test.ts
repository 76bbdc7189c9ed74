// reload's service list when a stop failed (ha-node.ts keepStuck): the stuck
// service keeps its old configuration and, when it was removed, its place.
import { expect } from 'chai';
import type { ServiceConfig } from '../../lib/config/types.js';
import { keepStuck } from '../../lib/node/ha-node.js';

const svc = (name: string, v = 1): ServiceConfig => ({ name, version: v } as unknown as ServiceConfig);
const shown = (l: ServiceConfig[]): string[] => l.map((s) => `${s.name}${(s as unknown as { version: number }).version}`);

describe('node/ha-node keepStuck', () => {
  const old = [svc('a'), svc('b'), svc('c'), svc('d')];
  it('nothing stuck: the new list as it is', () => {
    expect(shown(keepStuck(old, [svc('a', 2), svc('e')], new Set()))).to.deep.equal(['a2', 'e1']);
  });
  it('a changed service whose stop failed keeps its old configuration; the others change', () => {
    expect(shown(keepStuck(old, [svc('a', 2), svc('b', 2), svc('c'), svc('d')], new Set(['b'])))).to.deep.equal(['a2', 'b1', 'c1', 'd1']);
  });
  it('a removed service whose stop failed comes back at its old place, in old order', () => {
    expect(shown(keepStuck(old, [svc('a'), svc('d')], new Set(['b', 'c'])))).to.deep.equal(['a1', 'b1', 'c1', 'd1']);
    expect(shown(keepStuck(old, [], new Set(['d', 'a'])))).to.deep.equal(['a1', 'd1']);
    expect(shown(keepStuck(old, [svc('x')], new Set(['d'])))).to.deep.equal(['x1', 'd1']);
  });
});
