// The inputs that break naive code, mixed into every run's seeded inputs. Random inputs alone find the bugs
// their author imagined; these find the classic ones (float cents, LIKE wildcards, bool-as-int, prefix
// compares, byte vs character lengths). A check draws its values with `mixHard`, so each run sees some hard
// cases (in a seeded order) as well as random ones, and `--seed` replays both.
import type { Random } from './random.ts';

export const HARD = {
  /** Prices in dollars whose cents are not exact in binary floating point: `Math.trunc(p * 100)` gets most of them wrong (none is a half cent, so rounding is unambiguous). */
  money: [19.99, 0.29, 1.15, 0.57, 4.35, 8.2, 9.95, 0.07, 1234.56] as readonly number[],
  /** Strings with SQL LIKE metacharacters and escapes: a search must treat them literally. */
  likeMeta: ['100%', 'a_b', '50%_off', 'back\\slash', '%', '_', '\\', "o'neil", '%_%'] as readonly string[],
  /** Text that differs only by case or accents from other text (a case-sensitive match must keep them apart). */
  caseAndAccents: ['Cafe', 'café', 'CAFÉ', 'Straße', 'strasse', 'İstanbul', 'ǅemal'] as readonly string[],
  /** Unicode that byte-counting, naive slicing or a latin-1 decode breaks. */
  unicode: ['naïve', 'Zoë 🚀', '日本語テキスト', 'emoji 👩‍👩‍👧‍👦 family', 'rtl עברית', 'combining e\u0301', '\u{1F600}\u{1F601}'] as readonly string[],
  /** Values where an integer is due but a naive check accepts them (Python's bool is an int; JS coerces). */
  notIntegers: [true, false, '1', 1.5, 1e21, null, [], {}, '', -0.5] as readonly unknown[],
  /** Strings that are empty or nothing but white space. */
  blank: ['', ' ', '\t', '\u00a0', '\n'] as readonly string[],
  /** SQL injection attempts: stored and returned verbatim by a parameterised query. */
  injection: ["Robert'); DROP TABLE students;--", "' OR '1'='1", '"; SELECT pg_sleep(5); --', '\\x27'] as readonly string[],
} as const;

/** Integers at and around the edges of [min, max]: the off-by-one checks. */
export function boundaries(min: number, max: number): number[] {
  return [...new Set([min - 1, min, min + 1, max - 1, max, max + 1])];
}

/** A string of exactly `length` characters (ASCII unless `char` is given). */
export function sized(length: number, char = 'x'): string {
  return char.repeat(length);
}

/**
 * `n` values: at least `hardCount` (default: half, at least 1) drawn from `hard` (all of them, in a seeded order,
 * when there are enough slots), the rest from `randomValue`, shuffled with the run's seed.
 */
export function mixHard<T>(random: Random, n: number, hard: readonly T[], randomValue: (random: Random) => T, hardCount?: number): T[] {
  const k = Math.min(n, hard.length, hardCount ?? Math.max(1, Math.floor(n / 2)));
  const chosen = random.shuffle(hard).slice(0, k);
  const rest = Array.from({ length: n - k }, () => randomValue(random));
  return random.shuffle([...chosen, ...rest]);
}

/** Dollars -> cents the correct way (what a server must compute): round, never truncate. */
export function centsOf(dollars: number): number {
  return Math.round(Number((dollars * 100).toFixed(6)));
}
