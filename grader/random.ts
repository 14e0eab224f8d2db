// Seeded randomness: inputs change from run to run (so answers cannot be hard-coded) and any run can be
// replayed with --seed. Each check gets its own stream derived from (seed, check id), so `--only` sees the
// same inputs as a full run.

export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(readonly seed: number, stream = '') {
    const h = hash32(`${seed}:${stream}`);
    this.a = h ^ 0x9e3779b9;
    this.b = hash32(`b${h}`);
    this.c = hash32(`c${h}`);
    this.d = 1;
    for (let i = 0; i < 15; i++) this.next();
  }

  /** sfc32: a float in [0, 1). */
  next(): number {
    this.a >>>= 0; this.b >>>= 0; this.c >>>= 0; this.d >>>= 0;
    let t = (this.a + this.b) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.d = (this.d + 1) | 0;
    t = (t + this.d) | 0;
    this.c = (this.c + t) | 0;
    return (t >>> 0) / 4294967296;
  }

  /** Integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  bool(): boolean {
    return this.next() < 0.5;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }

  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  }

  string(length: number, alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789'): string {
    let s = '';
    for (let i = 0; i < length; i++) s += alphabet[Math.floor(this.next() * alphabet.length)];
    return s;
  }

  /** A pronounceable lowercase word, handy for names and titles. */
  word(min = 4, max = 9): string {
    const cons = 'bcdfghjklmnprstvz';
    const vow = 'aeiou';
    const n = this.int(min, max);
    let s = '';
    for (let i = 0; i < n; i++) s += i % 2 === 0 ? this.pick([...cons]) : this.pick([...vow]);
    return s;
  }

  /** A child stream, e.g. one per check. */
  fork(stream: string): Random {
    return new Random(this.seed, stream);
  }
}

/**
 * Two accounts with distinct random user names (a word, then a word with two digits) and random passwords:
 * the USERS of labs with a login. Extra fields per account (roles...) go in `extra`.
 */
export function twoAccounts<T extends object = object>(r: Random, passwordLength = 16, extra: [T, T] = [{} as T, {} as T]): ({ username: string; password: string } & T)[] {
  const first = r.word();
  let second = `${r.word()}${r.int(10, 99)}`;
  if (second === first) second += 'x';
  return [
    { username: first, password: r.string(passwordLength), ...extra[0] },
    { username: second, password: r.string(passwordLength), ...extra[1] },
  ];
}

export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function newSeed(): number {
  return Math.floor(Math.random() * 0xffffffff) >>> 0;
}
