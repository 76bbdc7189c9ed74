// A mocha root hook (loaded by .mocharc.json): once the last test is done the
// process should end on its own. If something a test opened keeps it alive (a
// link left pinging, a timer, a child), mocha would wait forever and CI would
// hit its time limit with no word why; instead, 60 s later, this names what
// is still open and fails the run. The timer is unref'd: it never keeps the
// process alive itself.
const GRACE_MS = 60_000;

export const mochaHooks = {
  afterAll(): void {
    setTimeout(() => {
      const open = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap');
      process.stderr.write(`\nThe tests finished ${GRACE_MS / 1000} s ago, but the process is still running: a test left something open (${open.join(', ') || 'nothing Node reports'}). Failing the run.\n`);
      // Mocha's own exit listener sets the code from the failure count; this one runs after it.
      process.on('exit', () => (process.exitCode = 1));
      process.exit(1);
    }, GRACE_MS).unref();
  },
};
