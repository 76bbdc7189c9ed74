// One log line format for the daemon: time, level, node, message, to stderr
// (systemd's journal stamps it again; the time keeps plain runs readable).
export type Level = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  log(level: Level, msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  debug(msg: string): void;
}

export function createLogger(node: string, write: (line: string) => void = (l) => process.stderr.write(l), debug = false): Logger {
  const log = (level: Level, msg: string): void => {
    if (level === 'debug' && !debug) return;
    write(`${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${node}: ${msg}\n`);
  };
  return {
    log,
    info: (m) => log('info', m),
    warn: (m) => log('warn', m),
    error: (m) => log('error', m),
    debug: (m) => log('debug', m),
  };
}

// Logs the first occurrence of a key, then at most one line per window with
// the count of what was suppressed (keepalived rate-limits packet errors too).
export class RateLimitedLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();
  constructor(private readonly windowMs: number, private readonly now: () => number) {}

  shouldLog(key: string): { log: boolean; suppressed: number } {
    const t = this.now();
    const e = this.last.get(key);
    if (e === undefined || t - e.at >= this.windowMs) {
      const suppressed = e?.suppressed ?? 0;
      this.last.set(key, { at: t, suppressed: 0 });
      return { log: true, suppressed };
    }
    e.suppressed++;
    return { log: false, suppressed: e.suppressed };
  }
}
