import { expect } from 'chai';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { parseConfigText, validateConfig } from '../../lib/config/load.js';
import { rng } from '../helpers/random.js';
import { mutate } from './helpers.js';

const root = (p: string): string => fileURLToPath(new URL(`../../../${p}`, import.meta.url));

describe('config/robustness: bad input never throws', () => {
  it('2000 random mutations of a valid file: never a throw, every refusal explained', async () => {
    const base: unknown = parse(await readFile(root('docs/examples/node-a.yaml'), 'utf8'));
    expect(validateConfig(base, { hostname: 'h' }).ok).to.equal(true);
    const next = rng(42);
    let refused = 0;
    for (let i = 0; i < 2000; i++) {
      let raw = base;
      const rounds = 1 + Math.floor(next() * 3);
      for (let r = 0; r < rounds; r++) raw = mutate(raw, next);
      const result = validateConfig(raw, { hostname: 'h' });
      if (result.ok) continue;
      refused++;
      expect(result.issues.length, JSON.stringify(raw)).to.be.greaterThan(0);
      for (const issue of result.issues) expect(issue.message.length).to.be.greaterThan(5);
    }
    expect(refused).to.be.greaterThan(1000);
  });
  it('random text never throws', () => {
    const next = rng(7);
    const alphabet = 'ab:-[]{}&*!|>#"\' \n\t0129.,?%@`';
    for (let i = 0; i < 1000; i++) {
      let text = '';
      const len = Math.floor(next() * 80);
      for (let j = 0; j < len; j++) text += alphabet[Math.floor(next() * alphabet.length)];
      const r = parseConfigText(text, { hostname: 'h' });
      expect(r.ok || r.issues.length > 0).to.equal(true);
    }
  });
});
