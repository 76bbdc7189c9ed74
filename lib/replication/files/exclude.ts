// A directory volume's `exclude` globs compiled into one matcher, with
// rsync-like meaning (rsync(1) "INCLUDE/EXCLUDE PATTERN RULES"):
// - a pattern without '/' matches the basename at any depth ("*.tmp");
// - a pattern with '/' is anchored at the volume root ("cache/**", "/a.log");
// - a trailing '/' matches directories only ("build/");
// - "dir/**" excludes dir itself as well as everything below it;
// - anything below an excluded directory is excluded (rsync never descends).
// Our own temporary names are always excluded, so a half-written file on a
// secondary is never replicated or reported as divergence.
import picomatch from 'picomatch';
import { TandemError } from '../../errors.js';
import { isTempName } from './apply.js';

export { TEMP_PREFIX } from './apply.js';
export const MAX_EXCLUDE_PATTERNS = 1024;
export const MAX_PATTERN_LENGTH = 4096;

export type ExcludeMatcher = (relPath: string, isDir: boolean) => boolean;

interface Rule {
  test: (s: string) => boolean;
  anchored: boolean; // matched against the whole relative path, else the basename
  dirOnly: boolean;
}

// '*' also matches a leading dot (rsync has no dotfile exception).
const PM_OPTIONS = { dot: true, windows: false } as const;

function compileRule(pattern: string): Rule[] {
  if (typeof pattern !== 'string' || pattern.length === 0 || pattern.length > MAX_PATTERN_LENGTH) {
    throw new TandemError('EXCLUDE_PATTERN', `exclude pattern must be a non-empty string of at most ${MAX_PATTERN_LENGTH} characters`);
  }
  let p = pattern;
  let dirOnly = false;
  if (p.length > 1 && p.endsWith('/')) { dirOnly = true; p = p.slice(0, -1); }
  const anchored = p.includes('/');
  if (p.startsWith('/')) p = p.slice(1);
  if (p.length === 0) throw new TandemError('EXCLUDE_PATTERN', `exclude pattern "${pattern}" matches nothing`);
  const main = picomatch(p, PM_OPTIONS);
  if (!(p.endsWith('/**') && p.length > 3)) return [{ test: main, anchored, dirOnly }];
  // "dir/**" also excludes the directory "dir" itself, but not a file named
  // "dir" (picomatch alone would match both).
  const base = picomatch(p.slice(0, -3), PM_OPTIONS);
  return [
    { test: (s) => main(s) && !base(s), anchored, dirOnly },
    { test: base, anchored, dirOnly: true },
  ];
}

function matchOne(rules: readonly Rule[], path: string, isDir: boolean): boolean {
  const slash = path.lastIndexOf('/');
  const base = slash < 0 ? path : path.slice(slash + 1);
  if (isTempName(base)) return true;
  for (const r of rules) {
    if (r.dirOnly && !isDir) continue;
    if (r.test(r.anchored ? path : base)) return true;
  }
  return false;
}

/**
 * Compiles `patterns` once; the returned matcher takes a relative path with
 * '/' separators (no leading "./" or '/') and whether it is a directory. It
 * also returns true when any ancestor directory is excluded, so a watcher
 * event deep inside an excluded tree is dropped without walking.
 */
export function compileExclude(patterns: readonly string[] = []): ExcludeMatcher {
  if (patterns.length > MAX_EXCLUDE_PATTERNS) {
    throw new TandemError('EXCLUDE_PATTERN', `at most ${MAX_EXCLUDE_PATTERNS} exclude patterns`);
  }
  const rules = patterns.flatMap(compileRule);
  return (relPath: string, isDir: boolean): boolean => {
    const path = relPath.replace(/^\.\/+/, '').replace(/^\/+/, '').replace(/\/+$/, '');
    if (path.length === 0) return false; // the volume root itself is never excluded
    for (let i = path.indexOf('/'); i >= 0; i = path.indexOf('/', i + 1)) {
      if (matchOne(rules, path.slice(0, i), true)) return true;
    }
    return matchOne(rules, path, isDir);
  };
}
