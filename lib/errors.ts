// Every error the daemon and CLI raise on purpose lives here, each with a
// stable code, the original error as `cause`, and `transient` set when a retry
// may succeed (style habit 8).

export interface TandemErrorOptions {
  cause?: unknown;
  transient?: boolean;
  exitCode?: number; // what the daemon exits with when this error stops it (e.g. EX_CONFIG)
}

export class TandemError extends Error {
  readonly code: string;
  readonly transient: boolean;
  readonly exitCode: number | undefined;
  constructor(code: string, message: string, options: TandemErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TandemError';
    this.code = code;
    this.transient = options.transient ?? false;
    this.exitCode = options.exitCode;
  }
}

// sysexits.h: the codes the CLI exits with.
export const EX_USAGE = 64;
export const EX_UNAVAILABLE = 69;
export const EX_SOFTWARE = 70;
export const EX_OSERR = 71;
export const EX_CONFIG = 78;
