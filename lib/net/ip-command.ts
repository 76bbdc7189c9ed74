// The one way in to ip(8): every address and link query or change goes
// through here, so the effects are easy to find and to log.
import { execa } from 'execa';
import { TandemError } from '../errors.js';

export interface IpRunOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

export async function runIp(args: string[], options: IpRunOptions = {}): Promise<string> {
  const result = await execa('ip', args, {
    reject: false,
    timeout: options.timeoutMs ?? 5000,
    cancelSignal: options.signal,
    stdin: 'ignore',
  });
  if (result.exitCode !== 0 || result.failed) {
    const why = (result.stderr || result.shortMessage || '').trim();
    throw new TandemError('IP_COMMAND_FAILED', `ip ${args.join(' ')} failed: ${why}`, {
      cause: result,
      transient: true,
    });
  }
  return result.stdout;
}

// `ip -j` output parsed; an unparsable answer is a bug in our assumption
// about ip(8), reported with the text we got.
export async function runIpJson<T>(args: string[], options: IpRunOptions = {}): Promise<T> {
  const out = await runIp(['-j', ...args], options);
  try {
    return JSON.parse(out === '' ? '[]' : out) as T;
  } catch (cause) {
    throw new TandemError('IP_COMMAND_OUTPUT', `ip -j ${args.join(' ')} printed no JSON: ${out.slice(0, 200)}`, { cause });
  }
}
