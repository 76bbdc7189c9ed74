// UTF-8 at the wire's edge, for every codec: strict decoding (a peer's bad
// bytes are an error to report, not U+FFFD to pass on) and cutting text to a
// byte limit without splitting a character.

const strict = new TextDecoder('utf-8', { fatal: true });

// The text, or null when the bytes are not UTF-8.
export function decodeUtf8(bytes: Uint8Array): string | null {
  try {
    return strict.decode(bytes);
  } catch {
    return null;
  }
}

// At most `max` bytes of `text` as UTF-8, never cutting a character in two.
export function utf8Prefix(text: string | Buffer, max: number): Buffer {
  const b = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  if (b.length <= max) return b;
  let end = max;
  while (end > 0 && ((b[end] as number) & 0xc0) === 0x80) end--; // a continuation byte: back to the character's start
  return b.subarray(0, end);
}
