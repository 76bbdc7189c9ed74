// Runs one validated operation against the backend and turns the result
// (or the backend's errno) into an NBD outcome.
import { nbdErrnoFor, type BlockBackend } from './backend.js';
import type { Outcome } from './reply.js';
import type { NbdOp } from './validate.js';

const OK: Outcome = { ok: true };

// executeOp with a callback: a WRITE the backend takes through writeNow()
// costs no promise, which is most of what a small replicated write allocates.
export function runOp(backend: BlockBackend, op: NbdOp, done: (outcome: Outcome) => void): void {
  if (op.type === 'WRITE' && backend.writeNow?.(op.offset, op.data, op.fua, (err) => done(err === null ? OK : failure(op, err)))) return;
  void executeOp(backend, op).then(done);
}

function failure(op: NbdOp, err: unknown): Outcome {
  return { ok: false, errno: nbdErrnoFor(err), message: `${op.type} failed: ${(err as Error)?.message ?? String(err)}` };
}

export async function executeOp(backend: BlockBackend, op: NbdOp): Promise<Outcome> {
  try {
    switch (op.type) {
      case 'READ':
        return { ok: true, data: await backend.read(op.offset, op.length) };
      case 'WRITE':
        await backend.write(op.offset, op.data, op.fua);
        return OK;
      case 'FLUSH':
        await backend.flush();
        return { ok: true };
      case 'TRIM':
        await backend.trim(op.offset, op.length, op.fua);
        return { ok: true };
      case 'WRITE_ZEROES':
        // NO_HOLE needs nothing extra: we never punch holes when zeroing.
        await backend.writeZeroes(op.offset, op.length, op.fua);
        return { ok: true };
    }
  } catch (err) {
    return failure(op, err);
  }
}
