import { type EvalContext, zoneOf } from '../context.js';
import { formatDate, parseWithFormat } from '../dateFormat.js';
import {
  addToDate,
  dateOrBlank,
  diffDates,
  parseDateText,
  parseUnit,
  requireDate,
  sameDate,
  startOfDay,
} from '../dates.js';
import { type FormulaValue, fail, toNumber, toText } from '../values.js';
import { wallClock, weekdayOf } from '../zones.js';
import { arg, eager, type FunctionTable, optional } from './types.js';

const MAX_FORMAT_LENGTH = 200;
const WEEKDAY_NAMES = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];

type DatePart = (date: Date, zone: string) => number;

/** YEAR, MONTH, ...: BLANK in, BLANK out (so `YEAR({Empty}) = 2024` is simply false). */
function part(read: DatePart) {
  return eager(1, 1, (args, ctx) => {
    const zone = zoneOf(ctx);
    const date = dateOrBlank(arg(args, 0), zone);
    return date === null ? null : read(date, zone);
  });
}

/** Comparisons and differences need two real dates; a BLANK side is a row error, as in Airtable. */
function twoDates(args: readonly FormulaValue[], ctx: EvalContext): [Date, Date, string] {
  const zone = zoneOf(ctx);
  return [requireDate(arg(args, 0), zone), requireDate(arg(args, 1), zone), zone];
}

function weekday(date: Date, zone: string, startDay: FormulaValue | undefined): number {
  const day = weekdayOf(wallClock(date, zone));
  if (startDay === undefined) return day;
  const start = WEEKDAY_NAMES.indexOf(toText(startDay).trim().toLowerCase());
  return start < 0 ? fail() : (day - start + 7) % 7;
}

function formatText(v: FormulaValue): string {
  const format = toText(v);
  return format.length > MAX_FORMAT_LENGTH ? fail() : format;
}

function parseDate(args: readonly FormulaValue[], ctx: EvalContext): FormulaValue {
  const zone = zoneOf(ctx);
  const input = arg(args, 0);
  if (input instanceof Date || input === null || input === '') return dateOrBlank(input, zone);
  const format = optional(args, 1);
  const text = toText(input);
  const parsed =
    format === undefined || format === null
      ? parseDateText(text, zone)
      : parseWithFormat(text, formatText(format), zone, ctx.now);
  return parsed ?? fail();
}

export const DATETIME_FUNCTIONS: FunctionTable = {
  RECORD_ID: eager(0, 0, (_args, ctx) => ctx.recordId),
  CREATED_TIME: eager(0, 0, (_args, ctx) => requireDate(ctx.createdTime, 'UTC')),
  NOW: eager(0, 0, (_args, ctx) => ctx.now),
  TODAY: eager(0, 0, (_args, ctx) => startOfDay(ctx.now, zoneOf(ctx))),
  IS_BEFORE: eager(2, 2, (args, ctx) => {
    const [a, b] = twoDates(args, ctx);
    return a.getTime() < b.getTime();
  }),
  IS_AFTER: eager(2, 2, (args, ctx) => {
    const [a, b] = twoDates(args, ctx);
    return a.getTime() > b.getTime();
  }),
  IS_SAME: eager(2, 3, (args, ctx) => {
    const [a, b, zone] = twoDates(args, ctx);
    const unit = optional(args, 2);
    return unit === undefined ? a.getTime() === b.getTime() : sameDate(a, b, parseUnit(unit), zone);
  }),
  DATEADD: eager(3, 3, (args, ctx) => {
    const zone = zoneOf(ctx);
    const date = dateOrBlank(arg(args, 0), zone);
    return date === null ? null : addToDate(date, toNumber(arg(args, 1)), parseUnit(arg(args, 2)), zone);
  }),
  DATETIME_DIFF: eager(2, 3, (args, ctx) => {
    const [a, b, zone] = twoDates(args, ctx);
    const unit = optional(args, 2);
    return diffDates(a, b, unit === undefined ? 'seconds' : parseUnit(unit), zone);
  }),
  DATESTR: eager(1, 1, (args, ctx) => {
    const zone = zoneOf(ctx);
    const date = dateOrBlank(arg(args, 0), zone);
    return date === null ? null : formatDate(date, 'YYYY-MM-DD', zone);
  }),
  DATETIME_PARSE: eager(1, 3, parseDate),
  DATETIME_FORMAT: eager(1, 2, (args, ctx) => {
    const zone = zoneOf(ctx);
    const date = dateOrBlank(arg(args, 0), zone);
    if (date === null) return null;
    const format = optional(args, 1);
    return format === undefined ? date.toISOString() : formatDate(date, formatText(format), zone);
  }),
  YEAR: part((d, zone) => wallClock(d, zone).year),
  MONTH: part((d, zone) => wallClock(d, zone).month),
  DAY: part((d, zone) => wallClock(d, zone).day),
  HOUR: part((d, zone) => wallClock(d, zone).hour),
  MINUTE: part((d, zone) => wallClock(d, zone).minute),
  SECOND: part((d, zone) => wallClock(d, zone).second),
  WEEKDAY: eager(1, 2, (args, ctx) => {
    const zone = zoneOf(ctx);
    const date = dateOrBlank(arg(args, 0), zone);
    return date === null ? null : weekday(date, zone, optional(args, 1));
  }),
};
