// Whether a policy pattern could make JavaScript's backtracking regex engine take exponential time
// on a crafted prompt (ReDoS): the classic shapes are a repeated group that itself repeats
// something, `(a+)+`, or that offers alternatives, `(a|ab)*` (OWASP, "Regular expression Denial of
// Service"; Davis et al., "The Impact of ReDoS in Practice", FSE 2018). A pattern is checked once,
// when the configuration loads, and refused outright rather than timed at request time, where
// a Worker cannot interrupt a running match. The check is conservative: it refuses some safe
// patterns (`(?:cat|dog)+`), never lets one of these shapes through. Backreferences are refused
// too: matching them is NP-hard in general.

/** What a group holds, for the check of the quantifier that may follow it. */
interface GroupScan {
  repeats: boolean;
  alternates: boolean;
}

/** At position `i`, the length of a quantifier and whether it repeats (more than once), or undefined. */
function quantifierAt(source: string, i: number): { length: number; repeats: boolean } | undefined {
  const ch = source[i];
  if (ch === '*' || ch === '+') return { length: lazyLength(source, i + 1, 1), repeats: true };
  if (ch === '?') return { length: lazyLength(source, i + 1, 1), repeats: false };
  if (ch !== '{') return undefined;
  const braces = /^\{(\d+)(,(\d*))?\}/.exec(source.slice(i));
  if (!braces) return undefined;
  const [, min, comma, max] = braces;
  const upper = comma === undefined ? Number(min) : max === '' ? Number.POSITIVE_INFINITY : Number(max);
  return { length: lazyLength(source, i + braces[0].length, braces[0].length), repeats: upper > 1 };
}

/** A quantifier's length with its lazy `?`, if one follows. */
function lazyLength(source: string, after: number, length: number): number {
  return source[after] === '?' ? length + 1 : length;
}

/**
 * Why `source` (a pattern that compiles with the `u` flag) risks catastrophic backtracking, or
 * undefined when it does not.
 */
export function backtrackingRisk(source: string): string | undefined {
  const open: GroupScan[] = [{ repeats: false, alternates: false }];
  let i = 0;
  while (i < source.length) {
    const ch = source[i];
    if (ch === '\\') {
      const next = source[i + 1] ?? '';
      if (/[1-9]/.test(next) || next === 'k') return 'it uses a backreference';
      i += 2;
      i = afterQuantifier(source, i, open);
      continue;
    }
    if (ch === '[') {
      i = classEnd(source, i) + 1;
      i = afterQuantifier(source, i, open);
      continue;
    }
    if (ch === '(') {
      open.push({ repeats: false, alternates: false });
      i += groupPrefixLength(source, i);
      continue;
    }
    if (ch === ')') {
      const group = open.pop() as GroupScan;
      const quantifier = quantifierAt(source, i + 1);
      if (quantifier?.repeats && (group.repeats || group.alternates)) {
        const what = group.repeats ? 'repeats something itself' : 'offers alternatives';
        return `a repeated group ${what} (nested quantifiers backtrack exponentially)`;
      }
      const outer = open[open.length - 1];
      outer.repeats ||= group.repeats || !!quantifier?.repeats;
      outer.alternates ||= group.alternates;
      i += 1 + (quantifier?.length ?? 0);
      continue;
    }
    if (ch === '|') {
      open[open.length - 1].alternates = true;
      i += 1;
      continue;
    }
    i = afterQuantifier(source, i + 1, open);
  }
  return undefined;
}

/** Past the quantifier of the atom ending before `i`, noting in its group that it repeats. */
function afterQuantifier(source: string, i: number, open: GroupScan[]): number {
  const quantifier = quantifierAt(source, i);
  if (!quantifier) return i;
  if (quantifier.repeats) open[open.length - 1].repeats = true;
  return i + quantifier.length;
}

/** The index of the `]` closing the class that opens at `start`. */
function classEnd(source: string, start: number): number {
  let i = start + 1;
  while (i < source.length && source[i] !== ']') i += source[i] === '\\' ? 2 : 1;
  return i;
}

/** `(`, `(?:`, `(?=`, `(?!`, `(?<=`, `(?<!` or `(?<name>`. */
function groupPrefixLength(source: string, start: number): number {
  const prefix = /^\((\?(:|=|!|<=|<!|<[A-Za-z_$][\w$]*>))?/.exec(source.slice(start));
  return prefix ? prefix[0].length : 1;
}
