// Splits a service's output into lines with a cap on each (pure, no I/O).
// readline keeps an unfinished line whole: output without a newline (binary
// data, a progress bar redrawn with \r) grew the daemon until a RangeError
// stopped it. Here a line longer than MAX_LINE_BYTES is emitted cut, with
// TRUNCATED, as soon as it reaches the cap; the rest of it is dropped up to
// the next newline, so memory per stream stays below the cap.
export const MAX_LINE_BYTES = 4096;
export const TRUNCATED = ' (truncated)';

export class LineSplitter {
  private parts: Buffer[] = [];
  private kept = 0; // bytes in parts
  private dropping = false; // the current line was emitted cut: skip to its newline

  // wanted() is asked before each line is decoded: a line nobody logs costs no string (a flood of them starved the loop).
  constructor(
    private readonly emit: (line: string) => void,
    private readonly maxBytes = MAX_LINE_BYTES,
    private readonly wanted: () => boolean = () => true,
  ) {}

  // Bytes of an unfinished line held (never more than the cap).
  get buffered(): number {
    return this.kept;
  }

  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      const nl = chunk.indexOf(0x0a, at);
      const end = nl === -1 ? chunk.length : nl;
      if (!this.dropping) this.keep(chunk.subarray(at, end));
      if (nl === -1) return;
      if (this.dropping) this.dropping = false;
      else this.flush(false);
      at = nl + 1;
    }
  }

  // The output ended: an unfinished last line is still a line.
  end(): void {
    if (!this.dropping && this.kept > 0) this.flush(false);
    this.dropping = false;
  }

  private keep(piece: Buffer): void {
    const room = this.maxBytes - this.kept;
    if (piece.length <= room) {
      if (piece.length > 0) this.parts.push(piece);
      this.kept += piece.length;
      return;
    }
    this.parts.push(piece.subarray(0, room));
    this.kept = this.maxBytes;
    this.flush(true);
    this.dropping = true;
  }

  private flush(cut: boolean): void {
    if (!this.wanted()) {
      this.parts = [];
      this.kept = 0;
      return;
    }
    let line = Buffer.concat(this.parts, this.kept);
    this.parts = [];
    this.kept = 0;
    if (cut) line = line.subarray(0, charBoundary(line));
    else if (line.at(-1) === 0x0d) line = line.subarray(0, -1); // CRLF ends a line as LF does
    this.emit(line.toString('utf8') + (cut ? TRUNCATED : ''));
  }
}

// The length of buf without a UTF-8 character cut at its end.
function charBoundary(buf: Buffer): number {
  let i = buf.length;
  let back = 0;
  while (i > 0 && back < 4 && ((buf[i - 1] as number) & 0xc0) === 0x80) {
    i--;
    back++;
  }
  if (i === 0) return buf.length;
  const lead = buf[i - 1] as number;
  const need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return need === back + 1 ? buf.length : need > 1 ? i - 1 : buf.length;
}
