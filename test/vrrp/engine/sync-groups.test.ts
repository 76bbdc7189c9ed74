// GROUP transitions the engine reports for notify (lib/vrrp/engine/sync-groups.ts),
// in memory: a MASTER group whose members stop one after the other at shutdown
// goes MASTER -> STOP, as keepalived's group notify does; it is never BACKUP on the way.
import { expect } from 'chai';
import type { SyncGroupConfig } from '../../../lib/config/types.js';
import type { VrrpState } from '../../../lib/vrrp/fsm/types.js';
import { SyncGroups } from '../../../lib/vrrp/engine/sync-groups.js';
import type { VrrpInstance } from '../../../lib/vrrp/engine/instance.js';

describe('vrrp/engine/sync-groups: group state at shutdown', () => {
  it('a MASTER group whose members stop in turn notifies STOP only', () => {
    const states = new Map<string, VrrpState>([['VI_1', 'MASTER'], ['VI_2', 'MASTER']]);
    const fake = (name: string): VrrpInstance => ({ get snapshot() { return { state: states.get(name), faultReasons: [] }; } }) as unknown as VrrpInstance;
    const instances = new Map([['VI_1', fake('VI_1')], ['VI_2', fake('VI_2')]]);
    const g = { name: 'G1', members: ['VI_1', 'VI_2'] } as SyncGroupConfig;
    const seen: string[] = [];
    const groups = new SyncGroups([g], instances, (_g, from, to) => seen.push(`${from}->${to}`));
    groups.onMemberChange('VI_1', { member: 'VI_1', from: 'INIT', to: 'MASTER', reason: 'startup' }, false);
    expect(seen).to.deep.equal(['INIT->MASTER']);
    // engine.stop(): each member to STOP in turn, with `stopping` set.
    states.set('VI_1', 'STOP');
    groups.onMemberChange('VI_1', { member: 'VI_1', from: 'MASTER', to: 'STOP', reason: 'shutdown' }, true);
    states.set('VI_2', 'STOP');
    groups.onMemberChange('VI_2', { member: 'VI_2', from: 'MASTER', to: 'STOP', reason: 'shutdown' }, true);
    expect(seen).to.deep.equal(['INIT->MASTER', 'MASTER->STOP']);
  });
});
