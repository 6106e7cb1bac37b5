import { isValidWall, zoneOffsetMinutes } from './dates.js';
import { fromWallClock, offsetMinutes, type WallClock, wallClock, wallMs, weekdayOf } from './zones.js';

// moment.js-style tokens (what Airtable's DATETIME_FORMAT/DATETIME_PARSE document); [text] is a literal.
const TOKENS = /\[([^\]]*)]|YYYY|YY|MMMM|MMM|MM|M|Do|DD|D|dddd|ddd|d|HH|H|hh|h|mm|m|ss|s|SSS|A|a|ZZ|Z|X|x/g;

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];
const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

function pad(n: number, width = 2): string {
  return String(Math.abs(n)).padStart(width, '0');
}

function ordinal(n: number): string {
  const tens = n % 100;
  if (tens >= 11 && tens <= 13) return `${n}th`;
  return `${n}${['th', 'st', 'nd', 'rd'][n % 10] ?? 'th'}`;
}

function formatOffset(minutes: number, separator: string): string {
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${sign}${pad(Math.floor(abs / 60))}${separator}${pad(abs % 60)}`;
}

function formatToken(token: string, date: Date, w: WallClock, zone: string): string {
  const hour12 = w.hour % 12 === 0 ? 12 : w.hour % 12;
  const values: Record<string, () => string> = {
    YYYY: () => pad(w.year, 4),
    YY: () => pad(w.year % 100),
    MMMM: () => MONTHS[w.month - 1] ?? '',
    MMM: () => (MONTHS[w.month - 1] ?? '').slice(0, 3),
    MM: () => pad(w.month),
    M: () => String(w.month),
    Do: () => ordinal(w.day),
    DD: () => pad(w.day),
    D: () => String(w.day),
    dddd: () => WEEKDAYS[weekdayOf(w)] ?? '',
    ddd: () => (WEEKDAYS[weekdayOf(w)] ?? '').slice(0, 3),
    d: () => String(weekdayOf(w)),
    HH: () => pad(w.hour),
    H: () => String(w.hour),
    hh: () => pad(hour12),
    h: () => String(hour12),
    mm: () => pad(w.minute),
    m: () => String(w.minute),
    ss: () => pad(w.second),
    s: () => String(w.second),
    SSS: () => pad(w.ms, 3),
    A: () => (w.hour < 12 ? 'AM' : 'PM'),
    a: () => (w.hour < 12 ? 'am' : 'pm'),
    ZZ: () => formatOffset(offsetMinutes(date, zone), ''),
    Z: () => formatOffset(offsetMinutes(date, zone), ':'),
    X: () => String(Math.floor(date.getTime() / 1000)),
    x: () => String(date.getTime()),
  };
  return values[token]?.() ?? token;
}

export function formatDate(date: Date, format: string, zone: string): string {
  const w = wallClock(date, zone);
  return format.replace(TOKENS, (token, literal: string | undefined) =>
    literal !== undefined ? literal : formatToken(token, date, w, zone),
  );
}

type WallSlot = 'year' | 'month' | 'day' | 'hour' | 'minute' | 'second' | 'ms';
type Slot = WallSlot | 'meridiem' | 'offset' | 'epochMs';

interface TokenParser {
  pattern: string;
  slot?: Slot;
  read?: (text: string) => number | string;
}

const monthFromName = (text: string): number =>
  MONTHS.findIndex((m) => m.slice(0, 3).toLowerCase() === text.slice(0, 3).toLowerCase()) + 1;

const digits = (pattern: string, slot: Slot): TokenParser => ({ pattern, slot, read: Number });
const monthName: TokenParser = { pattern: '[A-Za-z]+', slot: 'month', read: monthFromName };
const meridiem: TokenParser = { pattern: '[AaPp][Mm]', slot: 'meridiem', read: (t) => t.toLowerCase() };
const offset: TokenParser = { pattern: 'Z|[+-]\\d{2}:?\\d{2}', slot: 'offset', read: (t) => t };
const ignored = (pattern: string): TokenParser => ({ pattern });

const TOKEN_PARSERS: Record<string, TokenParser> = {
  YYYY: digits('\\d{4}', 'year'),
  YY: { pattern: '\\d{2}', slot: 'year', read: (t) => Number(t) + (Number(t) > 68 ? 1900 : 2000) },
  MMMM: monthName,
  MMM: monthName,
  MM: digits('\\d{1,2}', 'month'),
  M: digits('\\d{1,2}', 'month'),
  Do: { pattern: '\\d{1,2}(?:st|nd|rd|th)?', slot: 'day', read: (t) => Number.parseInt(t, 10) },
  DD: digits('\\d{1,2}', 'day'),
  D: digits('\\d{1,2}', 'day'),
  dddd: ignored('[A-Za-z]+'),
  ddd: ignored('[A-Za-z]+'),
  d: ignored('\\d'),
  HH: digits('\\d{1,2}', 'hour'),
  H: digits('\\d{1,2}', 'hour'),
  hh: digits('\\d{1,2}', 'hour'),
  h: digits('\\d{1,2}', 'hour'),
  mm: digits('\\d{1,2}', 'minute'),
  m: digits('\\d{1,2}', 'minute'),
  ss: digits('\\d{1,2}', 'second'),
  s: digits('\\d{1,2}', 'second'),
  SSS: { pattern: '\\d{1,3}', slot: 'ms', read: (t) => Number(t.padEnd(3, '0')) },
  A: meridiem,
  a: meridiem,
  ZZ: offset,
  Z: offset,
  X: { pattern: '-?\\d+', slot: 'epochMs', read: (t) => Number(t) * 1000 },
  x: { pattern: '-?\\d+', slot: 'epochMs', read: Number },
};

function escapeLiteral(text: string): string {
  // Like moment's forgiving parser, any run of separators matches any other run of separators.
  return text.replace(/[^0-9A-Za-z]+|[0-9A-Za-z]/g, (chunk) =>
    /^[0-9A-Za-z]$/.test(chunk) ? chunk : '[^0-9A-Za-z]*',
  );
}

function compileParser(format: string): { regex: RegExp; parsers: TokenParser[] } {
  const parsers: TokenParser[] = [];
  let source = '^\\s*';
  let last = 0;
  for (const m of format.matchAll(TOKENS)) {
    source += escapeLiteral(format.slice(last, m.index));
    last = m.index + m[0].length;
    if (m[1] !== undefined) {
      source += m[1].replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      continue;
    }
    const parser = TOKEN_PARSERS[m[0]] ?? ignored('');
    source += `(${parser.pattern})`;
    parsers.push(parser);
  }
  source += escapeLiteral(format.slice(last));
  return { regex: new RegExp(source, 'i'), parsers };
}

function toWall(slots: Partial<Record<Slot, number | string>>, year: number): WallClock {
  const n = (slot: WallSlot, fallback: number) => Number(slots[slot] ?? fallback);
  const wall = {
    year: n('year', year),
    month: n('month', 1),
    day: n('day', 1),
    hour: n('hour', 0),
    minute: n('minute', 0),
    second: n('second', 0),
    ms: n('ms', 0),
  };
  if (slots.meridiem === 'pm' && wall.hour < 12) wall.hour += 12;
  if (slots.meridiem === 'am' && wall.hour === 12) wall.hour = 0;
  return wall;
}

/** DATETIME_PARSE with an explicit format; fields the format lacks default to Jan 1 00:00 of `now`'s year. */
export function parseWithFormat(text: string, format: string, zone: string, now: Date): Date | undefined {
  const { regex, parsers } = compileParser(format);
  const match = regex.exec(text);
  if (!match) return undefined;
  const slots: Partial<Record<Slot, number | string>> = {};
  parsers.forEach((parser, i) => {
    if (parser.slot && parser.read) slots[parser.slot] = parser.read(match[i + 1] ?? '');
  });
  if (slots.epochMs !== undefined) return new Date(Number(slots.epochMs));
  const wall = toWall(slots, wallClock(now, zone).year);
  if (!isValidWall(wall)) return undefined;
  if (slots.offset === undefined) return fromWallClock(wall, zone);
  return new Date(wallMs(wall) - zoneOffsetMinutes(String(slots.offset)) * 60_000);
}
