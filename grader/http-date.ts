// HTTP-date (RFC 9110 section 5.6.7), as used by Date, Expires, Last-Modified, Retry-After and Sunset
// (RFC 8594). Senders must generate IMF-fixdate; a recipient must accept all three formats, so does this.

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const LONG_DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTH = `(${MONTHS.join('|')})`;
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';

// Sun, 06 Nov 1994 08:49:37 GMT
const IMF_FIXDATE = new RegExp(`^(?:${DAYS.join('|')}), (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`);
// Sunday, 06-Nov-94 08:49:37 GMT
const RFC850 = new RegExp(`^(?:${LONG_DAYS.join('|')}), (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`);
// Sun Nov  6 08:49:37 1994
const ASCTIME = new RegExp(`^(?:${DAYS.join('|')}) ${MONTH} (\\d{2}| \\d) ${TIME} (\\d{4})$`);

export type HttpDateFormat = 'IMF-fixdate' | 'rfc850-date' | 'asctime-date';

function build(year: number, month: string, day: string, h: string, m: string, s: string): Date | undefined {
  const mon = MONTHS.indexOf(month);
  const d = Number(day.trim());
  const [hh, mm, ss] = [Number(h), Number(m), Number(s)];
  // RFC 9110 allows a leap second (60); anything else out of range is not a date.
  if (hh > 23 || mm > 59 || ss > 60 || d < 1) return undefined;
  const date = new Date(Date.UTC(year, mon, d, hh, mm, Math.min(ss, 59)));
  if (date.getUTCDate() !== d || date.getUTCMonth() !== mon) return undefined;
  return date;
}

/** Parses an HTTP-date in any of its three formats; undefined when the value is not one. */
export function parseHttpDate(value: string | undefined, now: Date = new Date()): { date: Date; format: HttpDateFormat } | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  let m = IMF_FIXDATE.exec(v);
  if (m) {
    const date = build(Number(m[3]), m[2], m[1], m[4], m[5], m[6]);
    return date && { date, format: 'IMF-fixdate' };
  }
  m = RFC850.exec(v);
  if (m) {
    // Two-digit year: more than 50 years in the future means the most recent past year with those digits.
    const yy = Number(m[3]);
    let year = Math.floor(now.getUTCFullYear() / 100) * 100 + yy;
    if (year > now.getUTCFullYear() + 50) year -= 100;
    const date = build(year, m[2], m[1], m[4], m[5], m[6]);
    return date && { date, format: 'rfc850-date' };
  }
  m = ASCTIME.exec(v);
  if (m) {
    const date = build(Number(m[6]), m[1], m[2], m[3], m[4], m[5]);
    return date && { date, format: 'asctime-date' };
  }
  return undefined;
}

/** IMF-fixdate, the format a sender must generate: `Sun, 06 Nov 1994 08:49:37 GMT`. */
export function formatHttpDate(date: Date): string {
  return date.toUTCString();
}
