import { describe, expect, it } from 'vitest';
import {
  cellToFormulaValue,
  compileFormula,
  type EvalContext,
  FormulaError,
  type FormulaValue,
  formulaValueToCell,
  isTruthy,
  quoteFormulaString,
} from '../src/sandbox/formula/index.js';
import type { FieldDef } from '../src/sandbox/model.js';

const FIELDS: FieldDef[] = [
  { id: 'fldName0000000000', name: 'Name', type: 'singleLineText' },
  { id: 'fldNotes000000000', name: 'Notes', type: 'multilineText' },
  { id: 'fldCount000000000', name: 'Count', type: 'number' },
  { id: 'fldDone0000000000', name: 'Done', type: 'checkbox' },
  { id: 'fldStatus00000000', name: 'Status', type: 'singleSelect' },
  { id: 'fldTags0000000000', name: 'Tags', type: 'multipleSelects' },
  { id: 'fldDue00000000000', name: 'Due', type: 'date' },
  { id: 'fldStartAt0000000', name: 'Start At', type: 'dateTime' },
  { id: 'fldOwner000000000', name: 'Owner', type: 'multipleRecordLinks' },
  { id: 'fldEmpty000000000', name: 'Empty', type: 'singleLineText' },
  {
    id: 'fldScores00000000',
    name: 'Scores',
    type: 'multipleLookupValues',
    options: { result: { type: 'number' } },
  },
];

const PEOPLE: Record<string, string> = { recUsr1: 'Ada Lovelace', recUsr2: 'Grace Hopper' };
const linkNames = (ids: string[]) => ids.map((id) => PEOPLE[id] ?? id);

interface Row {
  id: string;
  values: Record<string, unknown>;
}

const ROWS = {
  alpha: {
    id: 'rec1',
    values: {
      Name: 'Alpha',
      Notes: 'Line one\nline two',
      Count: 5,
      Done: true,
      Status: 'open',
      Tags: ['red', 'blue'],
      Due: '2024-03-10',
      'Start At': '2024-03-10T09:30:00.000Z',
      Owner: ['recUsr1'],
    },
  },
  beta: {
    id: 'rec2',
    values: {
      Name: 'beta',
      Count: 0,
      Status: 'closed',
      Tags: ['green'],
      Due: '2023-12-25',
      Owner: ['recUsr1', 'recUsr2'],
    },
  },
  bare: { id: 'rec3', values: {} },
  lookups: { id: 'rec4', values: { Name: "it's", Scores: [3, null, 5, 3], Tags: ['a', 'b', 'a'] } },
} satisfies Record<string, Row>;

type RowKey = keyof typeof ROWS;

const NOW = new Date('2024-03-15T12:34:56.000Z');
const CREATED = '2024-01-02T03:04:05.000Z';

function contextFor(row: Row, timeZone?: string): EvalContext {
  const byId = new Map(FIELDS.map((f) => [f.id, f]));
  return {
    recordId: row.id,
    createdTime: CREATED,
    now: NOW,
    timeZone,
    cell: (fieldId) => {
      const field = byId.get(fieldId);
      return field ? cellToFormulaValue(field, row.values[field.name], linkNames) : null;
    },
  };
}

function run(formula: string, row: Row = ROWS.alpha, timeZone?: string): FormulaValue {
  return compileFormula(formula, FIELDS).evaluate(contextFor(row, timeZone));
}

function matching(formula: string, rows: readonly Row[]): string[] {
  const compiled = compileFormula(formula, FIELDS);
  return rows.filter((row) => isTruthy(compiled.evaluate(contextFor(row)))).map((row) => row.id);
}

function compileError(formula: string): FormulaError {
  try {
    compileFormula(formula, FIELDS);
  } catch (e) {
    expect(e).toBeInstanceOf(FormulaError);
    return e as FormulaError;
  }
  throw new Error(`expected ${formula} to fail`);
}

const DIV0 = { error: '#DIV/0!' };
const ERR = { error: '#ERROR!' };
const date = (iso: string) => new Date(iso);

type Case = [formula: string, row: RowKey, expected: FormulaValue];

function table(name: string, cases: Case[]) {
  describe(name, () => {
    it.each(cases)('%s on %s', (formula, row, expected) => {
      expect(run(formula, ROWS[row])).toEqual(expected);
    });
  });
}

table('literals, operators and precedence', [
  ['1+2*3=7', 'alpha', true],
  ['(1+2)*3', 'alpha', 9],
  ['2&3+4', 'alpha', '27'],
  ['10-4-3', 'alpha', 3],
  ['2*3/4', 'alpha', 1.5],
  ['-2*-3', 'alpha', 6],
  ['--1', 'alpha', 1],
  ['+"4"', 'alpha', 4],
  ['.5+1', 'alpha', 1.5],
  ['1+1=2=TRUE()', 'alpha', true],
  ['"a"&"b"="ab"', 'alpha', true],
  ['1<2', 'alpha', true],
  ['2<=2', 'alpha', true],
  ['3>=4', 'alpha', false],
  ['3>4', 'alpha', false],
  ['1!=2', 'alpha', true],
  ['"b">"a"', 'alpha', true],
  ['TRUE', 'alpha', true],
  ['false', 'alpha', false],
  ['TRUE()+TRUE()', 'alpha', 2],
  ['TRUE()&""', 'alpha', '1'],
  ['BLANK()', 'alpha', null],
  [' AND(\n  1 ,\t2 ) ', 'alpha', true],
  ['"abc"+1', 'alpha', Number.NaN],
  ['"2"*3', 'alpha', 6],
  ['1/0', 'alpha', DIV0],
  ['1/0+1', 'alpha', DIV0],
  ['"x"&(1/0)', 'alpha', DIV0],
]);

table('string literals and escapes', [
  ["'it\\'s'", 'alpha', "it's"],
  ['"say \\"hi\\""', 'alpha', 'say "hi"'],
  ["'back\\\\slash'", 'alpha', 'back\\slash'],
  ["'a\\nb\\tc'", 'alpha', 'a\nb\tc'],
  ["'\\q'", 'alpha', 'q'],
  ['"it\'s"', 'alpha', "it's"],
  ['\'say "hi"\'', 'alpha', 'say "hi"'],
  ['{Name}="it\'s"', 'lookups', true],
  ["{Name}='it\\'s'", 'lookups', true],
  ["''", 'alpha', ''],
]);

table('field references and cell values', [
  ['{Name}', 'alpha', 'Alpha'],
  ['Name', 'alpha', 'Alpha'],
  ['{name}', 'alpha', 'Alpha'],
  ['{ Name }', 'alpha', 'Alpha'],
  ['{fldName0000000000}', 'alpha', 'Alpha'],
  ['Count*2', 'alpha', 10],
  ['{Start At}', 'alpha', date('2024-03-10T09:30:00.000Z')],
  ['{Due}', 'alpha', date('2024-03-10T00:00:00.000Z')],
  ['{Notes}', 'alpha', 'Line one\nline two'],
  ['{Status}', 'alpha', 'open'],
  ['{Tags}', 'alpha', ['red', 'blue']],
  ['{Owner}', 'beta', ['Ada Lovelace', 'Grace Hopper']],
  ['{Scores}', 'lookups', [3, null, 5, 3]],
  ['{Empty}', 'alpha', null],
  ['{Done}', 'alpha', true],
  ['{Done}', 'beta', null],
]);

table('equality and coercion', [
  ["{Name}='Alpha'", 'alpha', true],
  ['{Name}="Alpha"', 'alpha', true],
  ["{Name}='alpha'", 'alpha', false],
  ["{Name}!='alpha'", 'alpha', true],
  ['{Count}=5', 'alpha', true],
  ["{Count}='5'", 'alpha', true],
  ["'5.0'=5", 'alpha', false],
  ['{Count}+1', 'alpha', 6],
  ['{Empty}+1', 'alpha', 1],
  ['{Empty}&"x"', 'alpha', 'x'],
  ['{Done}+1', 'alpha', 2],
  ['{Done}=1', 'alpha', true],
  ['{Done}=TRUE()', 'alpha', true],
  ['{Done}=FALSE()', 'beta', true],
  ['{Done}=FALSE()', 'alpha', false],
  ["{Tags}&''", 'alpha', 'red, blue'],
  ["{Tags}='red, blue'", 'alpha', true],
  ["{Tags}='green'", 'beta', true],
  ["{Owner}='Ada Lovelace'", 'alpha', true],
  ['{Empty}=""', 'alpha', true],
  ['{Empty}=BLANK()', 'alpha', true],
  ['BLANK()=""', 'alpha', true],
  ['0=BLANK()', 'alpha', false],
  ['{Count}=BLANK()', 'beta', false],
  ['{Count}=BLANK()', 'bare', true],
  ['{Empty}>0', 'alpha', false],
  ['{Empty}<1', 'alpha', true],
  ["{Due}='2024-03-10'", 'alpha', true],
  ["{Due}>'2024-03-01'", 'alpha', true],
  ["{Due}<'2024-03-01'", 'alpha', false],
  ['{Due}<TODAY()', 'alpha', true],
  ["{Due}=DATETIME_PARSE('2024-03-10')", 'alpha', true],
  ["{Due}>'not a date'", 'alpha', false],
]);

table('logical functions', [
  ['AND(1, "x", TRUE())', 'alpha', true],
  ['AND(1, 0)', 'alpha', false],
  ['and(1, 1)', 'alpha', true],
  ['OR(0, "", BLANK())', 'alpha', false],
  ['OR(0, {Name})', 'alpha', true],
  ['XOR(1, 1, 1)', 'alpha', true],
  ['XOR(1, 1)', 'alpha', false],
  ['NOT(0)', 'alpha', true],
  ['NOT({Tags})', 'bare', true],
  ["IF({Count}>3, 'big', 'small')", 'alpha', 'big'],
  ["IF({Count}>3, 'big', 'small')", 'beta', 'small'],
  ["IF(0, 'x')", 'alpha', null],
  ["IF(1, 'ok', 1/0)", 'alpha', 'ok'],
  ['IF(1/0, 1, 2)', 'alpha', DIV0],
  ["SWITCH({Status}, 'open', 1, 'closed', 2, 0)", 'alpha', 1],
  ["SWITCH({Status}, 'open', 1, 'closed', 2, 0)", 'beta', 2],
  ["SWITCH({Status}, 'open', 1, 'closed', 2, 0)", 'bare', 0],
  ["SWITCH({Status}, 'x', 1)", 'alpha', null],
  ["SWITCH({Status}, BLANK(), 'none', 'some')", 'bare', 'none'],
  ['ISERROR(1/0)', 'alpha', true],
  ['ISERROR(ERROR())', 'alpha', true],
  ['ISERROR(1)', 'alpha', false],
  ['ERROR()', 'alpha', ERR],
  ['AND(1, 1/0)', 'alpha', DIV0],
]);

table('text functions', [
  ["FIND('l', 'hello')", 'alpha', 3],
  ["FIND('l', 'hello', 4)", 'alpha', 4],
  ["FIND('L', 'hello')", 'alpha', 0],
  ["FIND('z', 'hello')", 'alpha', 0],
  ["FIND('blue', {Tags})", 'alpha', 6],
  ["FIND('x', {Empty})", 'alpha', 0],
  ["SEARCH('L', 'hello')", 'alpha', 3],
  ["SEARCH('l', 'hello', 4)", 'alpha', 4],
  ["SEARCH('z', 'hello')", 'alpha', null],
  ["LOWER('AbC')", 'alpha', 'abc'],
  ["UPPER('AbC')", 'alpha', 'ABC'],
  ["LEN('héllo')", 'alpha', 5],
  ['LEN({Empty})', 'alpha', 0],
  ['LEN(123)', 'alpha', 3],
  ["TRIM('  a b  ')", 'alpha', 'a b'],
  ["LEFT('hello', 2)", 'alpha', 'he'],
  ["RIGHT('hello', 3)", 'alpha', 'llo'],
  ["RIGHT('hello', 0)", 'alpha', ''],
  ["MID('hello', 2, 3)", 'alpha', 'ell'],
  ["CONCATENATE('a', 1, BLANK(), 'b')", 'alpha', 'a1b'],
  ["CONCATENATE({Name}, ': ', {Tags})", 'alpha', 'Alpha: red, blue'],
  ["SUBSTITUTE('a-b-c', '-', '+')", 'alpha', 'a+b+c'],
  ["SUBSTITUTE('a-b-c', '-', '+', 2)", 'alpha', 'a-b+c'],
  ["SUBSTITUTE('a-b-c', '-', '+', 5)", 'alpha', 'a-b-c'],
  ["REPLACE('hello', 2, 3, 'EY')", 'alpha', 'hEYo'],
  ["REPT('ab', 3)", 'alpha', 'ababab'],
  ["REPT('x', 2000000)", 'alpha', ERR],
  ["SUBSTITUTE(REPT('a', 1000), 'a', REPT('b', 10000))", 'alpha', ERR],
  ["T('x')", 'alpha', 'x'],
  ['T(5)', 'alpha', ''],
  ["VALUE('$1,234.50')", 'alpha', 1234.5],
  ["VALUE('12%')", 'alpha', 0.12],
  ["VALUE('abc')", 'alpha', null],
  ["ENCODE_URL_COMPONENT('a b&c/d')", 'alpha', 'a%20b%26c%2Fd'],
]);

table('regex functions', [
  ["REGEX_MATCH({Name}, '^Al')", 'alpha', true],
  ["REGEX_MATCH({Name}, '^Al')", 'beta', false],
  ["REGEX_MATCH('ABC', '(?i)b')", 'alpha', true],
  ["REGEX_EXTRACT('order 1234 shipped', '[0-9]+')", 'alpha', '1234'],
  ["REGEX_EXTRACT('a1b22', '\\\\d+')", 'alpha', '1'],
  ["REGEX_EXTRACT('abc', 'z')", 'alpha', null],
  ["REGEX_REPLACE('Hello World', ' W.*', '')", 'alpha', 'Hello'],
  ["REGEX_REPLACE('2024-03-10', '(\\\\d+)-(\\\\d+)-(\\\\d+)', '$3/$2/$1')", 'alpha', '10/03/2024'],
  ["REGEX_REPLACE('a-b', '-', '$$')", 'alpha', 'a$b'],
  ["REGEX_MATCH('abc', '[')", 'alpha', ERR],
  ["REGEX_MATCH(REPT('a', 100001), 'a')", 'alpha', ERR],
  ["REGEX_REPLACE(REPT('a', 1000), '', REPT('b', 10000))", 'alpha', ERR],
]);

table('numeric functions', [
  ['ABS(-3)', 'alpha', 3],
  ['ROUND(2.5)', 'alpha', 3],
  ['ROUND(-2.5)', 'alpha', -3],
  ['ROUND(1.005, 2)', 'alpha', 1.01],
  ['ROUND(1234, -2)', 'alpha', 1200],
  ['ROUNDUP(1.21, 1)', 'alpha', 1.3],
  ['ROUNDUP(-1.21, 1)', 'alpha', -1.3],
  ['ROUNDDOWN(-1.29, 1)', 'alpha', -1.2],
  ['INT(-1.5)', 'alpha', -2],
  ['MOD(7, 3)', 'alpha', 1],
  ['MOD(7, 0)', 'alpha', DIV0],
  ['CEILING(4.1)', 'alpha', 5],
  ['CEILING(7, 5)', 'alpha', 10],
  ['FLOOR(7.9)', 'alpha', 7],
  ['FLOOR(7, 5)', 'alpha', 5],
  ['POWER(2, 10)', 'alpha', 1024],
  ['SQRT(16)', 'alpha', 4],
  ['SQRT(-1)', 'alpha', Number.NaN],
  ['MAX(1, 5, 3)', 'alpha', 5],
  ['MIN(4, {Count}, 9)', 'alpha', 4],
  ['SUM(1, 2, 3)', 'alpha', 6],
  ['SUM({Count}, 1)', 'alpha', 6],
  ['AVERAGE(1, 2, 3, 4)', 'alpha', 2.5],
  ['AVERAGE(BLANK())', 'alpha', DIV0],
  ["COUNT(1, 'a', BLANK(), 2)", 'alpha', 2],
  ["COUNTA(1, 'a', BLANK(), '')", 'alpha', 2],
  ["COUNTALL(1, 'a', BLANK())", 'alpha', 3],
  ['COUNTA({Tags})', 'alpha', 2],
  ['SUM({Scores})', 'lookups', 11],
  ['MAX({Scores})', 'lookups', 5],
  ['COUNT({Scores})', 'lookups', 3],
  ['COUNTALL({Scores})', 'lookups', 4],
  ['AVERAGE({Scores})', 'lookups', 11 / 3],
]);

table('array functions', [
  ['ARRAYJOIN({Tags})', 'alpha', 'red, blue'],
  ["ARRAYJOIN({Tags}, '; ')", 'alpha', 'red; blue'],
  ["ARRAYJOIN({Owner}, '|')", 'beta', 'Ada Lovelace|Grace Hopper'],
  ['ARRAYJOIN({Empty})', 'alpha', ''],
  ['ARRAYJOIN({Name})', 'alpha', 'Alpha'],
  ['ARRAYUNIQUE({Tags})', 'lookups', ['a', 'b']],
  ['ARRAYUNIQUE({Scores})', 'lookups', [3, null, 5]],
  ['ARRAYCOMPACT({Scores})', 'lookups', [3, 5, 3]],
  ['ARRAYFLATTEN({Scores})', 'lookups', [3, null, 5, 3]],
  ['ARRAYSLICE({Scores}, 2, 3)', 'lookups', [null, 5]],
  ['ARRAYSLICE({Scores}, -2)', 'lookups', [5, 3]],
  ['ARRAYSLICE({Scores}, 2, -2)', 'lookups', [null, 5]],
]);

table('record and date functions', [
  ['RECORD_ID()', 'alpha', 'rec1'],
  ['CREATED_TIME()', 'alpha', date(CREATED)],
  ['NOW()', 'alpha', NOW],
  ['TODAY()', 'alpha', date('2024-03-15T00:00:00.000Z')],
  ['DATESTR({Due})', 'alpha', '2024-03-10'],
  ['DATESTR({Empty})', 'alpha', null],
  ['YEAR({Due})', 'alpha', 2024],
  ['MONTH({Due})', 'alpha', 3],
  ['DAY({Due})', 'alpha', 10],
  ['YEAR({Due})', 'bare', null],
  ['WEEKDAY({Due})', 'alpha', 0],
  ["WEEKDAY({Due}, 'Monday')", 'alpha', 6],
  ["DATEADD({Due}, 1, 'months')", 'alpha', date('2024-04-10T00:00:00.000Z')],
  ["DATEADD('2024-01-31', 1, 'M')", 'alpha', date('2024-02-29T00:00:00.000Z')],
  ["DATEADD({Due}, -2, 'days')", 'alpha', date('2024-03-08T00:00:00.000Z')],
  ["DATEADD({Due}, 3, 'h')", 'alpha', date('2024-03-10T03:00:00.000Z')],
  ["DATEADD({Due}, 90, 'minutes')", 'alpha', date('2024-03-10T01:30:00.000Z')],
  ["DATEADD({Due}, 1, 'quarter')", 'alpha', date('2024-06-10T00:00:00.000Z')],
  ["DATEADD({Due}, 1, 'y')", 'alpha', date('2025-03-10T00:00:00.000Z')],
  ["DATEADD({Due}, 1, 'fortnights')", 'alpha', ERR],
  ["DATETIME_DIFF('2024-03-10', '2024-03-01', 'days')", 'alpha', 9],
  ["DATETIME_DIFF('2024-03-01', '2024-03-10T12:00:00Z', 'days')", 'alpha', -9],
  ["DATETIME_DIFF('2024-03-01', '2024-01-31', 'months')", 'alpha', 1],
  ["DATETIME_DIFF('2024-02-28', '2024-01-31', 'months')", 'alpha', 0],
  ["DATETIME_DIFF('2025-03-01', '2024-03-02', 'years')", 'alpha', 0],
  ["DATETIME_DIFF('2025-03-02', '2024-03-02', 'y')", 'alpha', 1],
  ["DATETIME_DIFF('2024-07-01', '2024-01-01', 'quarters')", 'alpha', 2],
  ["DATETIME_DIFF('2024-01-22', '2024-01-01', 'w')", 'alpha', 3],
  ["DATETIME_DIFF('2024-01-01T01:00:00Z', '2024-01-01T00:00:00Z')", 'alpha', 3600],
  ["DATETIME_DIFF('2024-01-01T00:00:01Z', '2024-01-01T00:00:00Z', 'ms')", 'alpha', 1000],
  ["DATETIME_DIFF(TODAY(), {Due}, 'days')", 'alpha', 5],
  ["DATETIME_DIFF(TODAY(), {Due}, 'days')", 'bare', ERR],
  ['IS_BEFORE({Due}, TODAY())', 'alpha', true],
  ["IS_AFTER({Due}, '2024-01-01')", 'alpha', true],
  ["IS_AFTER({Due}, '2024-01-01')", 'beta', false],
  ["IS_AFTER({Empty}, '2024-01-01')", 'alpha', ERR],
  ["IS_SAME('2024-03-10T10:00:00Z', {Due}, 'day')", 'alpha', true],
  ["IS_SAME('2024-03-10T10:00:00Z', {Due})", 'alpha', false],
  ["IS_SAME({Due}, '2024-03-31', 'months')", 'alpha', true],
  ["IS_SAME({Due}, '2024-03-16', 'week')", 'alpha', true],
  ["IS_SAME({Due}, '2024-03-17', 'week')", 'alpha', false],
  ["DATETIME_PARSE('10/03/2024 14:05', 'DD/MM/YYYY HH:mm')", 'alpha', date('2024-03-10T14:05:00.000Z')],
  [
    "DATETIME_PARSE('March 5, 2024 2:30 pm', 'MMMM D, YYYY h:mm a')",
    'alpha',
    date('2024-03-05T14:30:00.000Z'),
  ],
  ["DATETIME_PARSE('2024-03-10')", 'alpha', date('2024-03-10T00:00:00.000Z')],
  ["DATETIME_PARSE('3/10/2024')", 'alpha', date('2024-03-10T00:00:00.000Z')],
  ["DATETIME_PARSE('garbage')", 'alpha', ERR],
  ["DATETIME_FORMAT({Start At}, 'YYYY-MM-DD HH:mm:ss')", 'alpha', '2024-03-10 09:30:00'],
  ["DATETIME_FORMAT({Due}, 'MMMM D, YYYY')", 'alpha', 'March 10, 2024'],
  ["DATETIME_FORMAT({Due}, 'ddd DD/MM/YY [at] h:mm A')", 'alpha', 'Sun 10/03/24 at 12:00 AM'],
  ['DATETIME_FORMAT({Due})', 'alpha', '2024-03-10T00:00:00.000Z'],
  ["{Due} & ''", 'alpha', '2024-03-10T00:00:00.000Z'],
]);

describe('time zones', () => {
  it('computes TODAY() and calendar parts on the zone calendar', () => {
    expect(run('TODAY()', ROWS.alpha, 'America/Los_Angeles')).toEqual(date('2024-03-15T07:00:00.000Z'));
    expect(run('DAY({Start At})', ROWS.alpha, 'Asia/Tokyo')).toBe(10);
    expect(run('HOUR({Start At})', ROWS.alpha, 'Asia/Tokyo')).toBe(18);
  });

  it('formats across a daylight-saving change', () => {
    expect(run("DATETIME_FORMAT({Start At}, 'YYYY-MM-DD HH:mm Z')", ROWS.alpha, 'America/New_York')).toBe(
      '2024-03-10 05:30 -04:00',
    );
    expect(run("DATETIME_PARSE('2024-03-09 12:00')", ROWS.alpha, 'America/New_York')).toEqual(
      date('2024-03-09T17:00:00.000Z'),
    );
    expect(run("DATEADD('2024-03-09 12:00', 1, 'days')", ROWS.alpha, 'America/New_York')).toEqual(
      date('2024-03-10T16:00:00.000Z'),
    );
  });
});

describe('patterns real clients send', () => {
  const rows: Row[] = [ROWS.alpha, ROWS.beta, ROWS.bare, ROWS.lookups];
  const cases: Array<[string, string[]]> = [
    ["{Status}='open'", ['rec1']],
    ['{Status}="closed"', ['rec2']],
    ["AND({Status}='open', {Count}>3)", ['rec1']],
    ["OR({Status}='open', {Status}='closed')", ['rec1', 'rec2']],
    ["OR(RECORD_ID()='rec1', RECORD_ID()='rec2')", ['rec1', 'rec2']],
    ["NOT({Name}='')", ['rec1', 'rec2', 'rec4']],
    ['{Name}=BLANK()', ['rec3']],
    ['{Done}', ['rec1']],
    ['NOT({Done})', ['rec2', 'rec3', 'rec4']],
    ['LEN({Name}) > 0', ['rec1', 'rec2', 'rec4']],
    ["FIND('blue', ARRAYJOIN({Tags}))", ['rec1']],
    ["FIND('Al', {fldName0000000000})", ['rec1']],
    ["OR(FIND('ada', LOWER({Owner})), FIND('ada', LOWER({Notes})))", ['rec1', 'rec2']],
    ["SEARCH(LOWER('BET'), LOWER({Name}))", ['rec2']],
    ["IS_AFTER({Due}, '2024-01-01')", ['rec1']],
    ["DATETIME_DIFF(TODAY(), {Due}, 'days') < 7", ['rec1']],
    ['1', ['rec1', 'rec2', 'rec3', 'rec4']],
    ['0', []],
    ['1/0', []],
  ];

  it.each(cases)('%s', (formula, expected) => {
    expect(matching(formula, rows)).toEqual(expected);
  });

  it('handles a 500-term OR of record ids', () => {
    const ids = Array.from({ length: 500 }, (_, i) => `rec${i + 2}`);
    const formula = `OR(${ids.map((id) => `RECORD_ID()='${id}'`).join(',')})`;
    expect(matching(formula, rows)).toEqual(['rec2', 'rec3', 'rec4']);
  });

  it('handles long operator chains and long unary runs without deep recursion', () => {
    expect(run(Array.from({ length: 5000 }, () => '1').join('+'))).toBe(5000);
    expect(run(`${'-'.repeat(15000)}1`)).toBe(1);
  });
});

describe('compile errors', () => {
  it('names unknown fields', () => {
    const e = compileError('AND({Nope} = 1, Other, {Name})');
    expect(e.kind).toBe('unknownField');
    expect(e.names).toEqual(['Nope', 'Other']);
    expect(e.message).toBe('Unknown field names: Nope, Other');
  });

  it('names unknown functions', () => {
    const e = compileError('bad(1) & NOPE2(2) & bad(3)');
    expect(e.kind).toBe('unknownFunction');
    expect(e.names).toEqual(['bad', 'NOPE2']);
    expect(e.message).toBe('Unknown function names: bad, NOPE2');
  });

  it.each([
    '(1+2',
    '1+2)',
    "'abc",
    '"abc\\"',
    '{Name',
    '{}',
    '1 2',
    "{Name}='x' {Status}",
    '{Name}=‘x’',
    '{Name}=“x”',
    '',
    '   ',
    'AND(1,)',
    'AND(,1)',
    '1 +',
    '=1',
    '1 && 2',
    '#',
  ])('rejects %j as a syntax error', (formula) => {
    const e = compileError(formula);
    expect(e.kind).toBe('syntax');
    expect(e.message).toBe('Invalid formula. Please check your formula text.');
  });

  it.each(['IF(1)', 'NOT(1, 2)', 'TODAY(1)', "LEFT('a')", 'AND()', 'DATEADD({Due}, 1)'])(
    'rejects wrong argument counts: %s',
    (formula) => {
      const e = compileError(formula);
      expect(e.kind).toBe('arity');
      expect(e.message).toBe('Invalid formula. Please check your formula text.');
    },
  );

  it('rejects nesting deeper than 64 without overflowing the stack', () => {
    expect(run(`${'('.repeat(64)}1${')'.repeat(64)}`)).toBe(1);
    expect(compileError(`${'('.repeat(65)}1${')'.repeat(65)}`).kind).toBe('tooComplex');
    expect(compileError(`${'('.repeat(1000)}1${')'.repeat(1000)}`).kind).toBe('tooComplex');
    expect(compileError(`${'NOT('.repeat(1000)}1${')'.repeat(1000)}`).kind).toBe('tooComplex');
    expect(compileError('('.repeat(19_000)).kind).toBe('tooComplex');
  });

  it('rejects formulas longer than 20,000 characters', () => {
    const e = compileError(`'${'a'.repeat(20_000)}'`);
    expect(e.kind).toBe('tooComplex');
    expect(e.message).toBe('Invalid formula. Please check your formula text.');
  });

  it('reports referenced field ids once, in order', () => {
    const compiled = compileFormula('AND({Name}, Count, {fldName0000000000}, {count})', FIELDS);
    expect(compiled.referencedFieldIds).toEqual(['fldName0000000000', 'fldCount000000000']);
  });

  it('never throws from evaluate', () => {
    const compiled = compileFormula('{Name} & "x"', FIELDS);
    const ctx: EvalContext = {
      recordId: 'rec1',
      createdTime: CREATED,
      now: NOW,
      cell: () => {
        throw new Error('boom');
      },
    };
    expect(compiled.evaluate(ctx)).toEqual(ERR);
    expect(compileFormula('TODAY()', FIELDS).evaluate({ ...ctx, timeZone: 'Not/AZone' })).toEqual(ERR);
  });
});

describe('injection resistance', () => {
  const singleQuoted = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  const hostile = [
    "nobody', 1) + OR(1, '",
    'x" , TRUE(), "',
    '\\',
    "\\'",
    '\\"',
    '}{',
    '{Status}',
    'line one\nline two',
    'ünïcødé 🚀 ‘smart’ “quotes”',
    '") , TRUE()) & ("',
    "'",
    '"',
  ];

  function rowsFor(input: string): Row[] {
    return [
      { id: 'recHit', values: { Name: input, Status: 'open' } },
      { id: 'recClosed', values: { Name: input, Status: 'closed' } },
      { id: 'recOther', values: { Name: 'nobody', Status: 'open' } },
      { id: 'recBlank', values: { Status: 'open' } },
    ];
  }

  it.each(hostile)('quoteFormulaString keeps %j a single literal', (input) => {
    const formula = `AND({Name}=${quoteFormulaString(input)}, {Status}='open')`;
    expect(matching(formula, rowsFor(input))).toEqual(['recHit']);
    expect(run(quoteFormulaString(input))).toBe(input);
  });

  it.each(hostile)('pyairtable-style single quoting keeps %j a single literal', (input) => {
    const formula = `AND({Name}=${singleQuoted(input)}, {Status}='open')`;
    expect(matching(formula, rowsFor(input))).toEqual(['recHit']);
  });

  it('naive interpolation of the classic payload leaks every row (so the tests above can fail)', () => {
    const payload = "nobody', 1) + OR(1, '";
    const formula = `AND({Name}='${payload}', {Status}='open')`;
    expect(matching(formula, rowsFor(payload))).toEqual(['recHit', 'recClosed', 'recOther', 'recBlank']);
  });

  it('escapes backslash before the quote', () => {
    expect(quoteFormulaString('a\\"b')).toBe('"a\\\\\\"b"');
  });
});

describe('cellToFormulaValue', () => {
  const field = (type: FieldDef['type'], options?: Record<string, unknown>): FieldDef => ({
    id: 'fldX',
    name: 'X',
    type,
    options,
  });

  it.each<[FieldDef, unknown, FormulaValue]>([
    [field('percent'), 0.5, 0.5],
    [field('currency'), 12.5, 12.5],
    [field('checkbox'), true, true],
    [field('checkbox'), false, null],
    [field('singleLineText'), '', null],
    [field('multipleSelects'), [], null],
    [field('singleCollaborator'), { id: 'usr1', email: 'ada@example.com', name: 'Ada' }, 'Ada'],
    [field('multipleCollaborators'), [{ id: 'usr2', email: 'grace@example.com' }], ['grace@example.com']],
    [field('createdBy'), { id: 'usr1', name: 'Ada' }, 'Ada'],
    [
      field('multipleAttachments'),
      [{ id: 'att1', url: 'https://x.test/a.png', filename: 'a.png' }],
      ['a.png (https://x.test/a.png)'],
    ],
    [field('barcode'), { text: '123', type: 'upce' }, '123'],
    [field('button'), { label: 'Open', url: null }, 'Open'],
    [field('multipleRecordLinks'), ['recA', 'recB'], ['recA', 'recB']],
    [field('createdTime'), '2024-01-02T03:04:05.000Z', date('2024-01-02T03:04:05.000Z')],
    [field('formula'), { specialValue: 'NaN' }, Number.NaN],
    [field('formula'), { error: '#ERROR!' }, ERR],
    [
      field('formula', { result: { type: 'dateTime' } }),
      '2024-01-01T00:00:00.000Z',
      date('2024-01-01T00:00:00.000Z'),
    ],
    [field('rollup'), 5, 5],
    [
      field('multipleLookupValues', { result: { type: 'date' } }),
      ['2024-01-01', '2024-02-01'],
      [date('2024-01-01T00:00:00.000Z'), date('2024-02-01T00:00:00.000Z')],
    ],
  ])('%o / %j', (f, raw, expected) => {
    expect(cellToFormulaValue(f, raw)).toEqual(expected);
  });

  it('resolves links and lookups of links to display names', () => {
    expect(cellToFormulaValue(field('multipleRecordLinks'), ['recUsr2'], linkNames)).toEqual([
      'Grace Hopper',
    ]);
    const lookup = field('multipleLookupValues', { result: { type: 'multipleRecordLinks' } });
    expect(cellToFormulaValue(lookup, ['recUsr1'], linkNames)).toEqual(['Ada Lovelace']);
  });
});

describe('formulaValueToCell', () => {
  it.each<[FormulaValue, unknown]>([
    [null, undefined],
    ['', undefined],
    [[], undefined],
    ['x', 'x'],
    [3, 3],
    [Number.NaN, { specialValue: 'NaN' }],
    [true, true],
    [false, false],
    [date('2024-01-01T00:00:00.000Z'), '2024-01-01T00:00:00.000Z'],
    [
      ['a', null, 2],
      ['a', null, 2],
    ],
    [DIV0, ERR],
    [ERR, ERR],
  ])('%j → %j', (value, cell) => {
    expect(formulaValueToCell(value)).toEqual(cell);
  });
});

describe('isTruthy', () => {
  it.each<[FormulaValue, boolean]>([
    [0, false],
    [1, true],
    [-1, true],
    [Number.NaN, false],
    ['', false],
    [' ', true],
    ['x', true],
    [null, false],
    [true, true],
    [false, false],
    [[], false],
    [[null, ''], false],
    [[0], true],
    [['x'], true],
    [date('2024-01-01'), true],
    [ERR, false],
  ])('%j → %s', (value, expected) => {
    expect(isTruthy(value)).toBe(expected);
  });
});
