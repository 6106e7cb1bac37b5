/** Calendar fields of an instant as seen on a wall clock in some IANA zone. Month is 1-12. */
export interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  ms: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(zone, f);
  }
  return f;
}

function isUtc(zone: string): boolean {
  return zone === 'UTC' || zone === 'Etc/UTC' || zone === 'GMT';
}

export function wallClock(date: Date, zone: string): WallClock {
  const t = date.getTime();
  if (isUtc(zone)) {
    return {
      year: date.getUTCFullYear(),
      month: date.getUTCMonth() + 1,
      day: date.getUTCDate(),
      hour: date.getUTCHours(),
      minute: date.getUTCMinutes(),
      second: date.getUTCSeconds(),
      ms: date.getUTCMilliseconds(),
    };
  }
  const parts: Record<string, number> = {};
  for (const p of formatterFor(zone).formatToParts(date)) parts[p.type] = Number(p.value);
  return {
    year: parts.year ?? 0,
    month: parts.month ?? 1,
    day: parts.day ?? 1,
    hour: parts.hour ?? 0,
    minute: parts.minute ?? 0,
    second: parts.second ?? 0,
    ms: ((t % 1000) + 1000) % 1000,
  };
}

/** Milliseconds of a wall clock read as if it were UTC; differences of these ignore DST jumps. */
export function wallMs(w: WallClock): number {
  const t = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second, w.ms);
  // Date.UTC maps years 0-99 to 1900-1999.
  return w.year >= 0 && w.year < 100 ? new Date(t).setUTCFullYear(w.year) : t;
}

/** The instant whose wall clock in `zone` is `w` (first match on DST overlaps). */
export function fromWallClock(w: WallClock, zone: string): Date {
  const guess = wallMs(w);
  if (isUtc(zone)) return new Date(guess);
  const offset1 = wallMs(wallClock(new Date(guess), zone)) - guess;
  const candidate = guess - offset1;
  const offset2 = wallMs(wallClock(new Date(candidate), zone)) - candidate;
  return new Date(offset1 === offset2 ? candidate : guess - offset2);
}

export function daysInMonth(year: number, month: number): number {
  return month === 2 ? (isLeapYear(year) ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;
}

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** 0 = Sunday. */
export function weekdayOf(w: WallClock): number {
  return new Date(wallMs({ ...w, hour: 0, minute: 0, second: 0, ms: 0 })).getUTCDay();
}

/** Calendar month arithmetic that clamps the day (Jan 31 + 1 month = Feb 28/29), like moment.js. */
export function addMonths(w: WallClock, months: number): WallClock {
  const total = w.year * 12 + (w.month - 1) + months;
  const year = Math.floor(total / 12);
  const month = total - year * 12 + 1;
  return { ...w, year, month, day: Math.min(w.day, daysInMonth(year, month)) };
}

export function offsetMinutes(date: Date, zone: string): number {
  return Math.round((wallMs(wallClock(date, zone)) - date.getTime()) / 60_000);
}
