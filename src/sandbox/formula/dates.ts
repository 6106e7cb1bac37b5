import { type FormulaValue, fail, isErrorValue, toText, unwrapSingle } from './values.js';
import {
  addMonths,
  daysInMonth,
  fromWallClock,
  type WallClock,
  wallClock,
  wallMs,
  weekdayOf,
} from './zones.js';

const DAY_MS = 86_400_000;

// Only unambiguous layouts are accepted: Date.parse would read other text in the server's local zone.
const YMD =
  /^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;
const US = /^(\d{1,2})\/(\d{1,2})\/(\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([ap]m)?)?$/i;

export function isValidWall(w: WallClock): boolean {
  return (
    w.month >= 1 &&
    w.month <= 12 &&
    w.day >= 1 &&
    w.day <= daysInMonth(w.year, w.month) &&
    w.hour <= 23 &&
    w.minute <= 59 &&
    w.second <= 59
  );
}

function num(s: string | undefined): number {
  return s === undefined ? 0 : Number(s);
}

/** Minutes east of UTC for `Z`, `+05`, `+0530` or `-05:30`. */
export function zoneOffsetMinutes(suffix: string): number {
  if (suffix.toUpperCase() === 'Z') return 0;
  const digits = suffix.slice(1).replace(':', '');
  const minutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || '0');
  return suffix.startsWith('-') ? -minutes : minutes;
}

function toInstant(w: WallClock, zone: string, suffix: string | undefined): Date | undefined {
  if (!isValidWall(w)) return undefined;
  if (suffix === undefined) return fromWallClock(w, zone);
  return new Date(wallMs(w) - zoneOffsetMinutes(suffix) * 60_000);
}

function parseYmd(m: RegExpExecArray, zone: string): Date | undefined {
  const ms = m[7] === undefined ? 0 : Math.floor(Number(`0.${m[7]}`) * 1000);
  const w = {
    year: num(m[1]),
    month: num(m[2]),
    day: num(m[3]),
    hour: num(m[4]),
    minute: num(m[5]),
    second: num(m[6]),
    ms,
  };
  return toInstant(w, zone, m[8]);
}

function parseUs(m: RegExpExecArray, zone: string): Date | undefined {
  let hour = num(m[4]);
  const meridiem = m[7]?.toLowerCase();
  if (meridiem && (hour < 1 || hour > 12)) return undefined;
  if (meridiem === 'pm' && hour < 12) hour += 12;
  if (meridiem === 'am' && hour === 12) hour = 0;
  const w = {
    year: num(m[3]),
    month: num(m[1]),
    day: num(m[2]),
    hour,
    minute: num(m[5]),
    second: num(m[6]),
    ms: 0,
  };
  return toInstant(w, zone, undefined);
}

/** ISO-like text (`2024-01-05`, `2024-01-05T10:00:00.000Z`, `2024/1/5 10:00`) or US `1/5/2024`; no zone means `zone`. */
export function parseDateText(text: string, zone: string): Date | undefined {
  const s = text.trim();
  const ymd = YMD.exec(s);
  if (ymd) return parseYmd(ymd, zone);
  const us = US.exec(s);
  return us ? parseUs(us, zone) : undefined;
}

/** A date argument: BLANK stays null; anything that is not a date or date text is a row error. */
export function dateOrBlank(v: FormulaValue, zone: string): Date | null {
  const u = unwrapSingle(v);
  if (u === null || u === '') return null;
  if (u instanceof Date) return Number.isNaN(u.getTime()) ? fail() : u;
  if (typeof u === 'string') return parseDateText(u, zone) ?? fail();
  if (Array.isArray(u)) return parseDateText(toText(u), zone) ?? fail();
  return isErrorValue(u) ? fail(u.error) : fail();
}

export function requireDate(v: FormulaValue, zone: string): Date {
  return dateOrBlank(v, zone) ?? fail();
}

export type DateUnit =
  | 'milliseconds'
  | 'seconds'
  | 'minutes'
  | 'hours'
  | 'days'
  | 'weeks'
  | 'months'
  | 'quarters'
  | 'years';

// Single letters follow moment.js, where case matters (M = months, m = minutes).
const UNIT_ABBREVIATIONS: Record<string, DateUnit> = {
  ms: 'milliseconds',
  s: 'seconds',
  m: 'minutes',
  h: 'hours',
  d: 'days',
  w: 'weeks',
  M: 'months',
  Q: 'quarters',
  y: 'years',
};

const UNIT_NAMES = new Set<string>([
  'milliseconds',
  'seconds',
  'minutes',
  'hours',
  'days',
  'weeks',
  'months',
  'quarters',
  'years',
]);

export function parseUnit(v: FormulaValue): DateUnit {
  const raw = toText(v).trim();
  const abbreviated = UNIT_ABBREVIATIONS[raw];
  if (abbreviated) return abbreviated;
  const lower = raw.toLowerCase();
  const plural = lower.endsWith('s') ? lower : `${lower}s`;
  return UNIT_NAMES.has(plural) ? (plural as DateUnit) : fail();
}

const FIXED_UNIT_MS: Partial<Record<DateUnit, number>> = {
  milliseconds: 1,
  seconds: 1000,
  minutes: 60_000,
  hours: 3_600_000,
};

const MONTHS_PER_UNIT: Partial<Record<DateUnit, number>> = { months: 1, quarters: 3, years: 12 };

function shiftWallDays(date: Date, days: number, zone: string): Date {
  const shifted = new Date(wallMs(wallClock(date, zone)) + days * DAY_MS);
  return fromWallClock(wallClock(shifted, 'UTC'), zone);
}

/** DATEADD: fixed units add elapsed time; days and larger move the wall clock (DST-safe), like moment.js. */
export function addToDate(date: Date, amount: number, unit: DateUnit, zone: string): Date {
  const fixed = FIXED_UNIT_MS[unit];
  if (fixed !== undefined) return new Date(date.getTime() + amount * fixed);
  const whole = Math.round(amount);
  if (unit === 'days' || unit === 'weeks')
    return shiftWallDays(date, whole * (unit === 'weeks' ? 7 : 1), zone);
  const months = whole * (MONTHS_PER_UNIT[unit] ?? 1);
  return fromWallClock(addMonths(wallClock(date, zone), months), zone);
}

/** Whole calendar months from b to a, truncated toward zero. */
function monthsBetween(a: Date, b: Date, zone: string): number {
  const wa = wallClock(a, zone);
  const wb = wallClock(b, zone);
  const target = wallMs(wa);
  let whole = (wa.year - wb.year) * 12 + (wa.month - wb.month);
  const anchor = (k: number) => wallMs(addMonths(wb, k));
  while (whole > 0 && anchor(whole) > target) whole--;
  while (whole < 0 && anchor(whole) < target) whole++;
  return whole;
}

/** DATETIME_DIFF(a, b, unit) = a − b in whole units, truncated toward zero. */
export function diffDates(a: Date, b: Date, unit: DateUnit, zone: string): number {
  const fixed = FIXED_UNIT_MS[unit];
  let result: number;
  if (fixed !== undefined) {
    result = (a.getTime() - b.getTime()) / fixed;
  } else if (unit === 'days' || unit === 'weeks') {
    const elapsed = wallMs(wallClock(a, zone)) - wallMs(wallClock(b, zone));
    result = elapsed / (unit === 'weeks' ? 7 * DAY_MS : DAY_MS);
  } else {
    result = monthsBetween(a, b, zone) / (MONTHS_PER_UNIT[unit] ?? 1);
  }
  return Math.trunc(result) + 0;
}

function truncateWall(w: WallClock, unit: DateUnit): number {
  const dayStart = wallMs({ ...w, hour: 0, minute: 0, second: 0, ms: 0 });
  switch (unit) {
    case 'years':
      return wallMs({ ...w, month: 1, day: 1, hour: 0, minute: 0, second: 0, ms: 0 });
    case 'quarters':
      return wallMs({
        ...w,
        month: Math.floor((w.month - 1) / 3) * 3 + 1,
        day: 1,
        hour: 0,
        minute: 0,
        second: 0,
        ms: 0,
      });
    case 'months':
      return wallMs({ ...w, day: 1, hour: 0, minute: 0, second: 0, ms: 0 });
    case 'weeks':
      return dayStart - weekdayOf(w) * DAY_MS;
    case 'days':
      return dayStart;
    case 'hours':
      return wallMs({ ...w, minute: 0, second: 0, ms: 0 });
    case 'minutes':
      return wallMs({ ...w, second: 0, ms: 0 });
    case 'seconds':
      return wallMs({ ...w, ms: 0 });
    case 'milliseconds':
      return wallMs(w);
  }
}

/** IS_SAME: equal once both are truncated to `unit` on the zone's calendar (weeks start on Sunday). */
export function sameDate(a: Date, b: Date, unit: DateUnit, zone: string): boolean {
  return truncateWall(wallClock(a, zone), unit) === truncateWall(wallClock(b, zone), unit);
}

export function startOfDay(date: Date, zone: string): Date {
  return fromWallClock({ ...wallClock(date, zone), hour: 0, minute: 0, second: 0, ms: 0 }, zone);
}
