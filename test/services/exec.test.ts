// Short-lived commands: verdicts, timeouts that end the whole process group,
// output that is not collected, and abort at shutdown.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { describeResult, runCommand } from '../../lib/services/exec.js';

function alive(pattern: string): boolean {
  try {
    execFileSync('pgrep', ['-f', pattern], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('services/exec runCommand', function () {
  this.timeout(10_000);

  it('reports success, failure with its exit code and stderr tail, and a missing command', async () => {
    expect((await runCommand('true', [], { timeoutMs: 2000 })).ok).to.equal(true);
    const f = await runCommand('echo oops >&2; exit 3', [], { timeoutMs: 2000 });
    expect(f).to.include({ ok: false, exitCode: 3, timedOut: false, output: 'oops' });
    expect(describeResult(f)).to.equal('exit 3: oops');
    const m = await runCommand('/nonexistent/cmd', [], { timeoutMs: 2000 });
    expect(m.exitCode).to.equal(127);
  });

  it('passes arguments as positional parameters, not through the shell', async () => {
    // The command gets the arguments appended as "$@", as keepalived's notify does.
    const r = await runCommand('f() { test "$1" = "a b;c" && test $# = 1; }; f', ['a b;c'], { timeoutMs: 2000 });
    expect(r.ok).to.equal(true);
  });

  it('a timeout ends the whole group at once, grandchildren included', async () => {
    // A unique sleep length marks the grandchild so pgrep can look for it afterwards.
    const secs = `30.${process.pid}${Date.now() % 1000}`;
    const t0 = Date.now();
    const r = await runCommand(`sleep ${secs} | cat; true`, [], { timeoutMs: 300 });
    const took = Date.now() - t0;
    expect(r.timedOut).to.equal(true);
    expect(r.ok).to.equal(false);
    expect(took).to.be.lessThan(2500);
    await new Promise((res) => setTimeout(res, 200));
    expect(alive(`sleep ${secs}`)).to.equal(false);
  });

  it('does not fail a script for printing a lot', async () => {
    const r = await runCommand('head -c 300000 /dev/zero; head -c 300000 /dev/zero >&2; exit 0', [], { timeoutMs: 5000 });
    expect(r.ok).to.equal(true);
    expect(r.output.length).to.be.at.most(500);
  });

  it('direct: runs an argv without a shell, and names the errno of a command that cannot start', async () => {
    const r = await runCommand('printf', ['%s|', 'a b;c', '$HOME'], { timeoutMs: 2000, direct: true, keepStdout: true });
    expect(r).to.include({ ok: true, stdout: 'a b;c|$HOME|', startError: null }); // nothing expanded or split
    const m = await runCommand('/nonexistent/cmd', [], { timeoutMs: 2000, direct: true });
    expect(m).to.include({ ok: false, exitCode: null, startError: 'ENOENT' });
    expect(describeResult(m)).to.match(/^could not start: .*ENOENT/);
  });

  it('keepStdout keeps a bounded head of stdout; without it nothing is kept', async () => {
    const big = await runCommand('echo first; head -c 300000 /dev/zero', [], { timeoutMs: 5000, keepStdout: true });
    expect(big.ok).to.equal(true);
    expect(big.stdout.startsWith('first\n')).to.equal(true);
    expect(big.stdout.length).to.equal(500);
    expect((await runCommand('echo hidden', [], { timeoutMs: 2000 })).stdout).to.equal('');
  });

  it('reapGroup: what a successful command left running is killed when it exits, and the verdict does not wait for it', async () => {
    const secs = `31.${process.pid}${Date.now() % 1000}`;
    const t0 = Date.now();
    const r = await runCommand(`sleep ${secs} & exit 0`, [], { timeoutMs: 5000, reapGroup: true, keepStdout: true });
    expect(r.ok).to.equal(true);
    expect(Date.now() - t0).to.be.lessThan(2500); // not held until the grandchild's stdout closes
    await new Promise((res) => setTimeout(res, 200));
    expect(alive(`sleep ${secs}`)).to.equal(false);
    // Without it, a successful script may leave a child running (keepalived's notify scripts may mean to).
    const kept = `32.${process.pid}${Date.now() % 1000}`;
    expect((await runCommand(`sleep ${kept} >/dev/null 2>&1 & exit 0`, [], { timeoutMs: 5000 })).ok).to.equal(true);
    await new Promise((res) => setTimeout(res, 200));
    expect(alive(`sleep ${kept}`)).to.equal(true);
    execFileSync('pkill', ['-f', `sleep ${kept}`]);
  });

  it('an abort (shutdown) ends a running command', async () => {
    const ac = new AbortController();
    const p = runCommand('sleep 30', [], { timeoutMs: 60_000, signal: ac.signal });
    setTimeout(() => ac.abort(), 100);
    const r = await p;
    expect(r.ok).to.equal(false);
    expect(r.signal).to.equal('SIGTERM');
  });

  // An exec health check whose helper left the group (setsid, `ssh -f`) holding stdout: runCommand waited for
  // 'close', so the probe hung as long as the helper lived, past its timeout and start_timeout.
  it('with stdout kept, a process that escaped the group with setsid holding stdout does not hold the verdict', async () => {
    const pidFile = `/tmp/tds-exec-setsid-${process.pid}`;
    const t0 = Date.now();
    const r = await runCommand(`setsid sh -c 'echo $$ > ${pidFile}; exec sleep 10' & echo hi; sleep 0.2; exit 1`, [], { timeoutMs: 5000, reapGroup: true, keepStdout: true });
    const ms = Date.now() - t0;
    const { readFileSync, rmSync } = await import('node:fs');
    const helper = Number(readFileSync(pidFile, 'utf8'));
    rmSync(pidFile, { force: true });
    try {
      process.kill(helper, 'SIGKILL');
    } catch {
      // gone
    }
    expect([r.exitCode, r.stdout]).to.deep.equal([1, 'hi\n']);
    expect(ms, 'the verdict came after').to.be.below(3000);
  });
});
