import { expect } from 'chai';
import { SERVICE_KEYS } from '../../lib/config/services-service.js';
import type { ServiceConfig } from '../../lib/config/types.js';
import { DEFAULT_RESTART_POLICY } from '../../lib/services/restart-policy.js';
import { rng } from '../helpers/random.js';
import { blockVolume, expectOnly, issuesOf, mutate, replicationDoc, validOf } from './helpers.js';

// A document of node-a with volume db and these services.
const VI_1 = { name: 'VI_1', interface: 'eth0', virtual_router_id: 51, virtual_ipaddress: ['192.0.2.100/24'] };
const doc = (services: unknown): Record<string, unknown> => ({ ...replicationDoc([blockVolume()]), vrrp: { instances: [VI_1] }, services });
const app = (over: Record<string, unknown> = {}): Record<string, unknown> => ({ name: 'app', command: ['/usr/bin/app'], ...over });
const servicesOf = (raw: unknown): ServiceConfig[] => validOf(raw).config.services;
const only = (over: Record<string, unknown>, path: string, ...fragments: string[]): void => {
  expectOnly(doc([app(over)]), `services[0]${path}`, ...fragments);
};
const shot = (oneshot: unknown, path: string, ...fragments: string[]): void => {
  expectOnly(doc([{ name: 'm', oneshot }]), `services[0]${path}`, ...fragments);
};
const COMMON = { requires: [], health: null, restart: { action: 'restart', maxRetries: 3, minLifetimeMs: 240_000 }, startTimeoutMs: 60_000, stopTimeoutMs: 30_000 };

describe('config/services', () => {
  describe('the instance they follow', () => {
    it('with no VRRP instance: a warning, nothing will start them', () => {
      const w = validOf({ ...replicationDoc([blockVolume()]), services: [app()] }).warnings;
      expect(w.map((x) => x.message)).to.deep.equal(['services run on the MASTER of the one VRRP instance they follow (vrrp.instances): there is none, so nothing will start them']);
    });
    it('with two instances: refused, active/active is not supported yet', () => {
      const two = { vrrp: { instances: [VI_1, { ...VI_1, name: 'VI_2', virtual_router_id: 52, virtual_ipaddress: ['192.0.2.101/24'] }] } };
      expectOnly({ ...doc([app()]), ...two }, 'services', 'there are 2; several resource groups (active/active) are not supported yet');
      // Reported beside a service's own errors, not only once they are fixed.
      const paths = issuesOf({ ...doc([app({ stop_timeout: -1 })]), ...two }).map((i) => i.path);
      expect(paths).to.include('services').and.include('services[0].stop_timeout');
    });
  });

  describe('defaults', () => {
    it('an absent section means no services', () => {
      expect(servicesOf({})).to.deep.equal([]);
      expect(servicesOf({ services: [] })).to.deep.equal([]);
    });
    it('fills every default of a minimal service of each kind', () => {
      expect(servicesOf({ services: [
        { name: 'pgsql', unit: 'postgresql.service' },
        app(),
        { name: 'mount-db', oneshot: { start: ['/usr/local/bin/attach', 'db'], stop: ['/usr/local/bin/detach', 'db'] } },
      ] })).to.deep.equal([
        { name: 'pgsql', kind: 'unit', unit: 'postgresql.service', ...COMMON },
        { name: 'app', kind: 'command', argv: ['/usr/bin/app'], env: {}, ...COMMON },
        { name: 'mount-db', kind: 'oneshot', start: ['/usr/local/bin/attach', 'db'], stop: ['/usr/local/bin/detach', 'db'], ...COMMON },
      ]);
    });
    it('the restart defaults are those of lib/services/restart-policy.ts, each key on its own', () => {
      expect(COMMON.restart).to.deep.equal(DEFAULT_RESTART_POLICY);
      expect(servicesOf(doc([app({ restart: {} })]))[0]?.restart).to.deep.equal(DEFAULT_RESTART_POLICY);
      expect(servicesOf(doc([app({ restart: { max_retries: 0 } })]))[0]?.restart).to.deep.equal({ ...DEFAULT_RESTART_POLICY, maxRetries: 0 });
    });
    it('a health check runs every 2 s with a 1 s timeout unless told', () => {
      expect(servicesOf(doc([app({ health: { tcp: '127.0.0.1:8080' } })]))[0]?.health).to.deep.equal({
        kind: 'tcp', host: '127.0.0.1', port: 8080, intervalMs: 2000, timeoutMs: 1000,
      });
    });
  });

  it('reads the full example: order kept, every key', () => {
    const services = servicesOf(doc([
      { name: 'pgsql', unit: 'postgresql.service', requires: ['db'] },
      {
        name: 'app', command: ['/usr/bin/app', '--port', '8080'], user: 'app', env: { KEY: 'value', PORT: '8080' }, requires: ['db'],
        health: { http: 'http://127.0.0.1:8080/health', interval: 2, timeout: 1 },
        restart: { action: 'restart', max_retries: 3, min_lifetime: 240 }, start_timeout: 60, stop_timeout: 30,
      },
      { name: 'web', unit: 'nginx@main.service', health: { exec: ['/usr/bin/curl', '-fs', 'http://[::1]/'], interval: 0.5, timeout: 0.25 }, restart: { action: 'switchover' }, start_timeout: 5.5, stop_timeout: 0.1 },
      { name: 'mount-db', oneshot: { start: ['/usr/local/bin/attach', 'db'], stop: ['/usr/local/bin/detach', 'db'] }, health: { tcp: '[2001:DB8::1]:5432' } },
    ]));
    expect(services.map((s) => s.name)).to.deep.equal(['pgsql', 'app', 'web', 'mount-db']);
    expect(services[1]).to.deep.equal({
      name: 'app', kind: 'command', argv: ['/usr/bin/app', '--port', '8080'], user: 'app', env: { KEY: 'value', PORT: '8080' }, requires: ['db'],
      health: { kind: 'http', url: 'http://127.0.0.1:8080/health', intervalMs: 2000, timeoutMs: 1000 },
      restart: { action: 'restart', maxRetries: 3, minLifetimeMs: 240_000 }, startTimeoutMs: 60_000, stopTimeoutMs: 30_000,
    });
    expect(services[2]).to.deep.include({
      kind: 'unit', unit: 'nginx@main.service', health: { kind: 'exec', argv: ['/usr/bin/curl', '-fs', 'http://[::1]/'], intervalMs: 500, timeoutMs: 250 },
      restart: { action: 'switchover', maxRetries: 3, minLifetimeMs: 240_000 }, startTimeoutMs: 5500, stopTimeoutMs: 100,
    });
    expect(services[3]?.health).to.deep.equal({ kind: 'tcp', host: '2001:db8::1', port: 5432, intervalMs: 2000, timeoutMs: 1000 });
    expect(validOf(doc([app()])).warnings).to.deep.equal([]);
  });

  describe('what runs: exactly one of unit, command, oneshot', () => {
    it('none, or two, are refused', () => {
      expectOnly(doc([{ name: 'app' }]), 'services[0]', 'no unit, command or oneshot', 'exactly one of unit');
      expectOnly(doc([app({ unit: 'app.service' })]), 'services[0].unit', 'command and unit are both given', 'exactly one of');
      expectOnly(doc([{ name: 'x', unit: 'a.service', oneshot: { start: ['/a'], stop: ['/b'] } }]), 'services[0].oneshot', 'unit and oneshot are both given');
    });
    it('user and env apply to command services only', () => {
      expectOnly(doc([{ name: 'pg', unit: 'postgresql.service', user: 'postgres' }]), 'services[0].user', 'applies to command services only', 'User=');
      expectOnly(doc([{ name: 'm', oneshot: { start: ['/a'], stop: ['/b'] }, env: { A: 'b' } }]), 'services[0].env', 'applies to command services only', 'oneshot');
    });
    for (const [unit, fragment] of [
      ['postgresql', 'the suffix is missing (write "postgresql.service")'],
      ['app.socket', 'a .socket unit is not a service'],
      ['multi-user.target', 'a .target unit is not a service'],
      ['getty@.service', 'a template needs an instance'],
      ['my app.service', 'a character outside the allowed set'],
      [`${'a'.repeat(250)}.service`, '258 characters is too long'],
      [5, 'not a string'],
    ] as const) {
      it(`unit ${JSON.stringify(unit).slice(0, 30)} is refused: ${fragment}`, () => {
        expectOnly(doc([{ name: 'u', unit }]), 'services[0].unit', fragment, 'a systemd service unit such as "postgresql.service"');
      });
    }
    it('command is a non-empty argv list whose program is an absolute path', () => {
      only({ command: '/usr/bin/app --port 8080' }, '.command', 'a command is a list, not one string', '["/usr/bin/app", "--port", "8080"]');
      only({ command: [] }, '.command', 'the list is empty');
      only({ command: ['app', '--port'] }, '.command[0]', 'the program must be an absolute path');
      only({ command: ['/usr/bin/app', '--port', 8080] }, '.command[2]', 'must be a string (quote a number: "8080")');
      only({ command: ['/usr/bin/app', 'a\0b'] }, '.command[1]', 'NUL byte');
      expect(servicesOf(doc([app({ command: ['/usr/bin/app', ''] })]))[0]).to.deep.include({ argv: ['/usr/bin/app', ''] });
    });
    it('user is a user name; env maps names to strings', () => {
      only({ user: 1000 }, '.user', 'a user name');
      only({ user: '-x' }, '.user', 'a user name');
      only({ env: ['A=b'] }, '.env', 'must be a mapping', 'variable name -> string value');
      only({ env: { PORT: 8080 } }, '.env.PORT', 'must be a string (quote it: "8080")');
      only({ env: { '1A': 'x' } }, '.env["1A"]', 'is not a variable name');
    });
    it('oneshot is a mapping with start and stop, each an argv list', () => {
      shot({ start: ['/a'] }, '.oneshot.stop', 'required key is missing', 'a list of strings');
      shot({ start: '/usr/bin/attach db', stop: ['/b'] }, '.oneshot.start', 'a command is a list, not one string');
      shot(['/a', '/b'], '.oneshot', 'must be a mapping (start and stop');
      shot({ start: ['/a'], stop: ['/b'], restart: ['/c'] }, '.oneshot.restart', 'unknown key "restart"', 'allowed keys here: start, stop');
    });
  });

  describe('health', () => {
    it('takes exactly one probe', () => {
      only({ health: { interval: 2 } }, '.health', 'no probe is given', 'exactly one of http');
      only({ health: { tcp: '127.0.0.1:1', exec: ['/bin/true'] } }, '.health.exec', 'tcp and exec are both given');
      only({ health: { exec: ['/bin/true'], http: 'http://127.0.0.1/' } }, '.health.http', 'exec and http are both given');
      only({ health: 'http://127.0.0.1/' }, '.health', 'must be a mapping (exactly one of http');
    });
    for (const [url, fragment] of [
      ['127.0.0.1:8080/health', 'not a URL (it needs the scheme, "http://")'],
      ['ftp://127.0.0.1/x', 'the scheme ftp is not http or https'],
      ['http://user:pw@127.0.0.1/', 'credentials in the URL are not supported'],
      ['http://', 'not a valid URL'],
      [8080, 'not a string'],
    ] as const) {
      it(`http ${JSON.stringify(url)} is refused: ${fragment}`, () => only({ health: { http: url } }, '.health.http', fragment, 'an http:// or https:// URL with a host'));
    }
    it('https is accepted', () => {
      expect(servicesOf(doc([app({ health: { http: 'https://localhost/ok' } })]))[0]?.health).to.deep.include({ kind: 'http', url: 'https://localhost/ok' });
    });
    it('tcp is ADDRESS:PORT as elsewhere; exec an argv list', () => {
      only({ health: { tcp: 'localhost:80' } }, '.health.tcp', 'is not an IP address (host names are not resolved)');
      only({ health: { tcp: '0.0.0.0:80' } }, '.health.tcp', 'wildcard');
      only({ health: { exec: '/bin/check' } }, '.health.exec', 'a command is a list');
    });
    it('timeout must be shorter than interval', () => {
      only({ health: { tcp: '127.0.0.1:1', interval: 1 } }, '.health.interval', 'timeout 1 s is not shorter than interval 1 s (timeout defaults to 1 s)');
      only({ health: { tcp: '127.0.0.1:1', interval: 3, timeout: 3 } }, '.health.timeout', 'timeout 3 s is not shorter than interval 3 s');
      only({ health: { tcp: '127.0.0.1:1', interval: 0 } }, '.health.interval', 'a number of seconds >= 0.1');
      only({ health: { tcp: '127.0.0.1:1', timeout: 0 } }, '.health.timeout', 'a number of seconds > 0');
      only({ health: { tcp: '127.0.0.1:1', url: 'x' } }, '.health.url', 'unknown key "url"', 'write http:');
    });
  });

  describe('restart and timeouts', () => {
    it('restart takes action, max_retries, min_lifetime', () => {
      only({ restart: { action: 'failover' } }, '.restart.action', 'must be one of "restart" or "switchover"');
      only({ restart: { max_retries: -1 } }, '.restart.max_retries', 'an integer 0..1000');
      only({ restart: { max_retries: '3' } }, '.restart.max_retries', 'quoted string');
      only({ restart: { min_lifetime: 0 } }, '.restart.min_lifetime', 'a number of seconds > 0');
      only({ restart: { max_retires: 3 } }, '.restart.max_retires', 'did you mean "max_retries"?');
      only({ restart: 'always' }, '.restart', 'must be a mapping', 'restart or switchover');
    });
    it('start_timeout and stop_timeout are seconds > 0, at most an hour', () => {
      only({ start_timeout: 0 }, '.start_timeout', 'a number of seconds > 0 and <= 3600');
      only({ stop_timeout: 7200 }, '.stop_timeout', 'a number of seconds > 0 and <= 3600');
      only({ timeout: 5 }, '.timeout', 'write start_timeout', 'or stop_timeout');
    });
  });

  describe('the list and its names', () => {
    it('the section and each entry have their shapes', () => {
      expectOnly({ services: { app: app() } }, 'services', 'must be a list of services in start order');
      expectOnly({ services: ['app'] }, 'services[0]', 'must be a mapping (a service: name and exactly one of');
    });
    it('name is required, follows the name rule, and is unique', () => {
      expectOnly(doc([{ command: ['/a'] }]), 'services[0].name', 'required key is missing', '1..64 characters');
      only({ name: 'my app' }, '.name', '1..64 characters from A-Z a-z 0-9 _ . -');
      expectOnly(doc([app(), { name: 'app', unit: 'app.service' }]), 'services[1].name', 'service names must be unique: services[0] is also named app');
    });
    it('unknown keys get a suggestion or a hint', () => {
      only({ evn: {} }, '.evn', 'did you mean "env"?', `allowed keys here: ${SERVICE_KEYS.join(', ')}`);
      only({ environment: {} }, '.environment', 'write env: { KEY: value }');
      only({ exec_start: ['/a'] }, '.exec_start', 'command: ["/path"');
      only({ depends_on: ['pgsql'] }, '.depends_on', 'services start in the order of the list');
      only({ type: 'simple' }, '.type', 'what a service is follows from its key');
    });
  });

  describe('requires: volumes of replication.volumes', () => {
    it('names a volume this node replicates', () => {
      expect(servicesOf(doc([app({ requires: ['db'] })]))[0]?.requires).to.deep.equal(['db']);
      only({ requires: ['dbb'] }, '.requires[0]', 'no such volume: did you mean "db"?', 'volumes: db');
      only({ requires: ['logs'] }, '.requires[0]', 'no such volume', 'requires names volumes of replication.volumes (volumes: db)');
      expectOnly({ services: [app({ requires: ['db'] })] }, 'services[0].requires[0]', 'replication.volumes defines none');
    });
    it('is a list of names, each once', () => {
      only({ requires: 'db' }, '.requires', 'must be a list of 1..64 characters');
      only({ requires: ['db', 'db'] }, '.requires[1]', 'db is listed twice');
    });
    it('a volume with an error of its own is still known by name', () => {
      const issues = issuesOf({ ...replicationDoc([blockVolume({ size: '10GB' })]), services: [app({ requires: ['db'] })] });
      expect(issues.map((i) => i.path)).to.deep.equal(['replication.volumes[0].size']);
    });
    it('is checked for entries with other errors too', () => {
      const issues = issuesOf(doc([app({ requires: ['nope'], stop_timeout: -1 })]));
      expect(issues.map((i) => i.path)).to.have.members(['services[0].stop_timeout', 'services[0].requires[0]']);
    });
  });

  it('a mangled service list is reported, never thrown', () => {
    const good = doc([
      { name: 'pgsql', unit: 'postgresql.service', requires: ['db'] },
      app({ env: { A: 'b' }, health: { http: 'http://127.0.0.1/', interval: 2, timeout: 1 }, restart: { action: 'restart', max_retries: 1, min_lifetime: 10 } }),
      { name: 'm', oneshot: { start: ['/a'], stop: ['/b'] }, health: { exec: ['/bin/true'] } },
    ]);
    const next = rng(5);
    for (let i = 0; i < 400; i++) {
      const raw = { ...good, services: mutate(good['services'], next) };
      expect(() => issuesOf(raw)).not.to.throw();
    }
  });
});
