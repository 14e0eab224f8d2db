// Structured Field Values for HTTP (RFC 9651): parse a response header with a real parser (the
// `structured-headers` package), so a check never hand-splits on ";" and "=". A header that is absent or
// does not parse fails the check with the raw value and the parser's reason.
import { parseDictionary, parseItem, parseList, serializeItem, Token, type BareItem, type InnerList, type Item } from 'structured-headers';
import { CheckFailure } from './errors.ts';
import { describeResponse } from './probe/exchange.ts';
import type { HttpResponse } from './probe/http.ts';

export type SfBareItem = BareItem;

/** One parsed member: an Item, or an Inner List (then `value` is undefined and `items` is set). */
export interface SfMember {
  /** The bare value: number, string, boolean, Date, ArrayBuffer, or an SfToken. */
  value: BareItem | undefined;
  /** True when the value is a Token (`default`), false for a String (`"default"`) and other types. */
  isToken: boolean;
  /** The value as a JS string when it is a String or a Token, else undefined. */
  text: string | undefined;
  /** Parameters in order, e.g. {q: 10, w: 60}. */
  params: Record<string, BareItem>;
  /** Members of an Inner List. */
  items?: SfMember[];
}

export const SfToken = Token;

function fromItem([value, params]: Item): SfMember {
  const isToken = value instanceof Token;
  return {
    value,
    isToken,
    text: typeof value === 'string' ? value : isToken ? (value as Token).toString() : undefined,
    params: Object.fromEntries(params),
  };
}

function fromMember(member: Item | InnerList): SfMember {
  if (Array.isArray(member[0])) {
    const [items, params] = member as InnerList;
    return { value: undefined, isToken: false, text: undefined, params: Object.fromEntries(params), items: items.map(fromItem) };
  }
  return fromItem(member as Item);
}

/** A bare item written back in structured-field syntax, for messages: `"default"`, `default`, `10`, `?1`. */
export function showSfValue(value: BareItem | undefined): string {
  if (value === undefined) return '(inner list)';
  try {
    return serializeItem([value, new Map()]);
  } catch {
    return String(value);
  }
}

/** Parses a field value as an RFC 9651 List; throws the parser's error. */
export function parseSfList(value: string): SfMember[] {
  return parseList(value).map(fromMember);
}

/** Parses a field value as an RFC 9651 Dictionary; throws the parser's error. */
export function parseSfDictionary(value: string): Map<string, SfMember> {
  const out = new Map<string, SfMember>();
  for (const [key, member] of parseDictionary(value)) out.set(key, fromMember(member));
  return out;
}

/** Parses a field value as an RFC 9651 Item; throws the parser's error. */
export function parseSfItem(value: string): SfMember {
  return fromItem(parseItem(value));
}

type Kind = 'List' | 'Dictionary' | 'Item';

function expectSf<T>(res: HttpResponse, name: string, kind: Kind, parse: (v: string) => T, why?: string, example?: string): T {
  const value = res.header(name);
  const expected = example ? `${name}: ${example}` : `${name}: (a structured-field ${kind}, RFC 9651)`;
  if (value === undefined) {
    throw new CheckFailure({
      message: why ?? `The response has no \`${name}\` header.`,
      expected,
      received: describeResponse(res.exchange.response!, [name]),
      exchange: res.exchange,
    });
  }
  try {
    return parse(value);
  } catch (err) {
    throw new CheckFailure({
      message: `The \`${name}\` header is not a valid structured-field ${kind} (RFC 9651): ${(err as Error).message}. Strings need double quotes, parameters are \`;key=value\` with lowercase keys, members are separated by commas.`,
      expected,
      received: describeResponse(res.exchange.response!, [name]),
      exchange: res.exchange,
    });
  }
}

/** The header parsed as a structured-field List; fails the check if it is absent or malformed. */
export function expectSfList(res: HttpResponse, name: string, why?: string, example?: string): SfMember[] {
  return expectSf(res, name, 'List', parseSfList, why, example);
}

/** The header parsed as a structured-field Dictionary; fails the check if it is absent or malformed. */
export function expectSfDictionary(res: HttpResponse, name: string, why?: string, example?: string): Map<string, SfMember> {
  return expectSf(res, name, 'Dictionary', parseSfDictionary, why, example);
}

/** The header parsed as a structured-field Item; fails the check if it is absent or malformed. */
export function expectSfItem(res: HttpResponse, name: string, why?: string, example?: string): SfMember {
  return expectSf(res, name, 'Item', parseSfItem, why, example);
}
