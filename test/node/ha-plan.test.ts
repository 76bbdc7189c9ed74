import { expect } from 'chai';
import { becomeMaster, describeStep, leaveMaster, undo, type PlanGroup, type Step } from '../../lib/node/ha-plan.js';

const group = (volumes: string[], services: string[], vips: boolean): PlanGroup => ({
  volumes, vips, services: services.map((name, i) => ({ name, startStepMs: 60_000 + i, stopStepMs: 30_000 + i })),
});

const names = (steps: Step[]): string[] => steps.map((s) => describeStep(s).replace(/ \(.*\)$/, ''));

describe('node/ha-plan', () => {
  it('the ESC pair: up is volumes, services in order, VIPs, announce, notify; down is the mirror with VIPs first', () => {
    const g = group(['db', 'conf'], ['mount-db', 'pgsql', 'app'], true);
    expect(names(becomeMaster(g))).to.deep.equal(['promote db', 'promote conf', 'start mount-db', 'start pgsql', 'start app', 'add-vips', 'announce', 'notify MASTER']);
    expect(names(leaveMaster(g, 'BACKUP'))).to.deep.equal(['remove-vips', 'stop app', 'stop pgsql', 'stop mount-db', 'demote conf', 'demote db', 'notify BACKUP']);
    expect(describeStep(becomeMaster(g)[3] as Step)).to.equal('start pgsql (60.001 s)');
  });

  it('every group shape: no VIP is added before every service is started, and none is left after leaving', () => {
    for (const vols of [[], ['db'], ['db', 'conf']]) {
      for (const svcs of [[], ['a'], ['a', 'b', 'c']]) {
        for (const vips of [false, true]) {
          const g = group(vols, svcs, vips);
          const up = becomeMaster(g);
          const firstVip = up.findIndex((s) => s.kind === 'add-vips');
          const lastStart = up.map((s) => s.kind).lastIndexOf('start');
          const lastPromote = up.map((s) => s.kind).lastIndexOf('promote');
          const firstStart = up.findIndex((s) => s.kind === 'start');
          if (vips) expect(firstVip).to.be.greaterThan(lastStart);
          else expect(firstVip).to.equal(-1);
          if (firstStart >= 0) expect(firstStart).to.be.greaterThan(lastPromote);
          expect(up[up.length - 1]).to.deep.include({ kind: 'notify', state: 'MASTER' });
          for (const to of ['BACKUP', 'FAULT', 'STOP'] as const) {
            const down = leaveMaster(g, to);
            expect(down.filter((s) => s.kind === 'stop').length).to.equal(svcs.length);
            expect(down.filter((s) => s.kind === 'demote').length).to.equal(vols.length);
            if (vips) expect(down[0]?.kind).to.equal('remove-vips');
            expect(down[down.length - 1]).to.deep.include({ kind: 'notify', state: to });
            // Leaving takes back exactly what becoming MASTER set up.
            expect(names(undo(up, g))).to.deep.equal(names(down.slice(0, -1)));
          }
        }
      }
    }
  });

  it('a failure part way up takes back only what completed, newest first, with the services\' stop timeouts', () => {
    const g = group(['db'], ['pgsql', 'app'], true);
    const up = becomeMaster(g);
    // "start app" failed: promote db and start pgsql completed.
    const back = undo(up.slice(0, 2), g);
    expect(names(back)).to.deep.equal(['stop pgsql', 'demote db']);
    expect(back[0]).to.deep.equal({ kind: 'stop', service: 'pgsql', timeoutMs: 30_000 });
    expect(undo([], g)).to.deep.equal([]);
  });
});
