import { expect } from 'chai';
import { conflicts, PathScheduler } from '../../../lib/replication/files/apply-order.js';
import { rng } from '../../helpers/random.js';

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 1));

describe('replication/files/apply-order', () => {
  it('conflicts: same path, ancestor or descendant, or a barrier; siblings and prefixes of names do not', () => {
    expect(conflicts(['a'], ['a'])).to.equal(true);
    expect(conflicts(['a'], ['a/b/c'])).to.equal(true);
    expect(conflicts(['a/b/c'], ['a'])).to.equal(true);
    expect(conflicts(null, ['x'])).to.equal(true);
    expect(conflicts(['x'], null)).to.equal(true);
    expect(conflicts(['a/b'], ['a/c'])).to.equal(false);
    expect(conflicts(['ab'], ['a'])).to.equal(false);
    expect(conflicts(['a/bc'], ['a/b'])).to.equal(false);
  });

  it('random streams: every conflicting pair runs in stream order, unrelated ones overlap, never above the limit', async () => {
    const names = ['a', 'a/b', 'a/b/c', 'a/d', 'e', 'e/f', 'g'];
    for (let seed = 1; seed <= 30; seed++) {
      const r = rng(seed);
      const s = new PathScheduler(4);
      const started: number[] = [];
      const finished: number[] = [];
      let running = 0;
      let peak = 0;
      const tasks: Array<readonly string[] | null> = [];
      for (let i = 0; i < 60; i++) {
        const paths = r() < 0.05 ? null : [names[Math.floor(r() * names.length)] as string];
        tasks.push(paths);
        s.add(paths, async () => {
          started.push(i);
          running++;
          peak = Math.max(peak, running);
          for (let k = Math.floor(r() * 3); k > 0; k--) await tick();
          running--;
          finished.push(i);
        });
      }
      await s.idle();
      expect(finished).to.have.length(60);
      expect(peak).to.be.at.most(4);
      for (let i = 0; i < 60; i++) {
        for (let j = i + 1; j < 60; j++) {
          if (!conflicts(tasks[i] ?? null, tasks[j] ?? null)) continue;
          expect(finished.indexOf(i), `seed ${seed}: ${i} before ${j}`).to.be.lessThan(started.indexOf(j));
        }
      }
    }
  });

  it('nothing starts before the promise it was given (the previous receiver) settles, even if it rejects', async () => {
    let release!: () => void;
    const before = new Promise<void>((_, rej) => { release = () => rej(new Error('old link failed')); });
    const s = new PathScheduler(2, before);
    let ran = false;
    s.add(['x'], async () => { ran = true; });
    await tick();
    expect(ran).to.equal(false);
    release();
    await s.idle();
    expect(ran).to.equal(true);
  });
});
