// The control socket on a real Unix socket: root-only mode, request/answer,
// bad requests answered with a reason, the event stream, one daemon per path.
import { expect } from 'chai';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request, streamEvents } from '../../lib/cli/client.js';
import { ControlServer } from '../../lib/node/control-server.js';
import { EventBus } from '../../lib/node/events.js';
import { createLogger } from '../../lib/node/log.js';

const quiet = createLogger('test', () => {});

function raw(path: string, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = createConnection(path);
    let out = '';
    s.on('connect', () => s.write(text));
    s.on('data', (d) => (out += d.toString()));
    s.on('end', () => resolve(out));
    s.on('error', reject);
  });
}

describe('node/control-server', () => {
  let dir: string;
  let server: ControlServer;
  let bus: EventBus;
  let path: string;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tandem-ctl-'));
    path = join(dir, 'run', 'control.sock');
    bus = new EventBus();
    server = new ControlServer(path, bus, quiet);
    server.handle('status', () => ({ node: 'n1' }));
    server.handle('boom', () => {
      throw new Error('it broke');
    });
    await server.start();
  });
  afterEach(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates the socket with mode 0600', () => {
    expect(statSync(path).mode & 0o777).to.equal(0o600);
  });

  it('answers a command', async () => {
    expect(await request(path, { command: 'status' })).to.deep.equal({ ok: true, result: { node: 'n1' } });
  });

  it('answers unknown commands, handler errors and garbage with reasons', async () => {
    const u = await request(path, { command: 'nope' });
    expect(u.ok).to.equal(false);
    expect(u.error).to.include('unknown command "nope"').and.include('status');
    const b = await request(path, { command: 'boom' });
    expect(b).to.deep.equal({ ok: false, error: 'it broke' });
    expect(JSON.parse(await raw(path, 'not json\n')).error).to.include('not JSON');
    expect(JSON.parse(await raw(path, '[1]\n')).error).to.include('"command" string');
    expect(JSON.parse(await raw(path, 'x'.repeat(70 * 1024))).error).to.include('longer than');
  });

  it('streams events as JSON lines, with history on request', async () => {
    bus.emit('before', { n: 1 });
    const lines: string[] = [];
    const done = streamEvents(path, true, (l) => {
      lines.push(l);
      if (lines.length === 1) bus.emit('after', { n: 2 });
      if (lines.length === 2) bus.emit('daemon.stopped', { node: 'test' }); // as the daemon does before it stops
      if (lines.length === 3) void server.stop();
    });
    await done;
    expect(lines.map((l) => (JSON.parse(l) as { type: string }).type)).to.deep.equal(['before', 'after', 'daemon.stopped']);
  });

  it('refuses to start a second daemon on a live socket', async () => {
    const second = new ControlServer(path, bus, quiet);
    try {
      await second.start();
      expect.fail('second start succeeded');
    } catch (err) {
      expect((err as Error).message).to.include('another tandem daemon answers');
    }
    // The refused one cleans up only what it made: the live daemon keeps its socket.
    await second.stop();
    expect((await request(path, { command: 'status' })).ok).to.equal(true);
  });

  it('refuses a path that is not a socket and leaves the file alone', async () => {
    const { writeFileSync, readFileSync } = await import('node:fs');
    const file = join(dir, 'tandem.yaml');
    writeFileSync(file, 'precious');
    const s = new ControlServer(file, bus, quiet);
    try {
      await s.start();
      expect.fail('started on a regular file');
    } catch (err) {
      expect((err as Error).message).to.include('is not a socket');
    }
    await s.stop();
    expect(readFileSync(file, 'utf8')).to.equal('precious');
  });

  it('replaces a stale socket file left by a crash', async () => {
    await server.stop();
    // A socket file with nobody listening: what a kill -9 of a daemon leaves.
    const { execa } = await import('execa');
    const { existsSync } = await import('node:fs');
    const child = execa(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)})`], { reject: false });
    while (!existsSync(path)) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGKILL');
    await child;
    expect(existsSync(path)).to.equal(true);
    server = new ControlServer(path, bus, quiet);
    server.handle('status', () => 'again');
    await server.start();
    expect((await request(path, { command: 'status' })).result).to.equal('again');
  });
});
