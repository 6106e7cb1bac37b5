/** Field types and id shapes have one source (src/airtable/field-types.ts, src/airtable/ids.ts). */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  COMPUTED_FIELD_TYPES,
  DATE_FIELD_TYPES,
  FIELD_TYPES,
  LIST_FIELD_TYPES,
  NUMBER_FIELD_TYPES,
  RESULT_TYPED_FIELD_TYPES,
  TEXT_FIELD_TYPES,
} from '../src/airtable/field-types.js';
import { BASE_ID_PATTERN, ID_PATTERNS, RECORD_ID_PATTERN } from '../src/airtable/ids.js';
import { COMPUTED_FIELD_TYPES as SANDBOX_COMPUTED, SANDBOX_FIELD_TYPES } from '../src/sandbox/model.js';
import { RECORD_ID_PATTERN as TOOLS_RECORD_ID } from '../src/tools/schemas.js';

describe('field types', () => {
  it('the sandbox implements a subset of the one list, and shares its computed types', () => {
    for (const type of SANDBOX_FIELD_TYPES) expect(FIELD_TYPES).toContain(type);
    expect(SANDBOX_COMPUTED).toBe(COMPUTED_FIELD_TYPES);
  });

  it('groups only hold known types; a checkbox is not a number; lookups and AI text are computed', () => {
    for (const group of [COMPUTED_FIELD_TYPES, NUMBER_FIELD_TYPES, RESULT_TYPED_FIELD_TYPES]) {
      for (const type of group) expect(FIELD_TYPES).toContain(type);
    }
    expect(NUMBER_FIELD_TYPES.has('checkbox')).toBe(false);
    expect(COMPUTED_FIELD_TYPES.has('lookup')).toBe(true);
    expect(COMPUTED_FIELD_TYPES.has('aiText')).toBe(true);
  });
});

describe('id shapes', () => {
  it('are the same objects wherever they are used', () => {
    expect(TOOLS_RECORD_ID).toBe(RECORD_ID_PATTERN);
    expect(ID_PATTERNS.base).toBe(BASE_ID_PATTERN);
    expect(BASE_ID_PATTERN.test('appAbCdEf12345678')).toBe(true);
    expect(BASE_ID_PATTERN.test('appAbCdEf1234567')).toBe(false);
    expect(RECORD_ID_PATTERN.test('recAbCdEf12345678?')).toBe(false);
  });
});

describe('no second copy', () => {
  const ID_SHAPE = /\[(?:A-Za-z0-9|0-9A-Za-z|a-zA-Z0-9|0-9a-zA-Z)\]\{14\}/;
  /** Files that still spell the id shape out; owned elsewhere, to move to src/airtable/ids.ts. */
  const NOT_YET_MOVED = new Set(['src/orchestrator/routes.ts', 'src/tools/get-field-info.ts']);

  function sources(dir: string): string[] {
    return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) return sources(path);
      return entry.name.endsWith('.ts') ? [path] : [];
    });
  }
  const files = sources('src');

  it('spells the 14-character id body only in src/airtable/ids.ts', () => {
    const offenders = files.filter(
      (f) => f !== 'src/airtable/ids.ts' && !NOT_YET_MOVED.has(f) && ID_SHAPE.test(readFileSync(f, 'utf8')),
    );
    expect(
      offenders,
      'use BASE_ID_PATTERN, RECORD_ID_PATTERN, … or ID_BODY from src/airtable/ids.ts',
    ).toEqual([]);
  });

  it('writes no field-type group (or the whole list) a second time', () => {
    const groups = [
      FIELD_TYPES,
      COMPUTED_FIELD_TYPES,
      NUMBER_FIELD_TYPES,
      TEXT_FIELD_TYPES,
      DATE_FIELD_TYPES,
      LIST_FIELD_TYPES,
    ].map((g) => [...g].sort().join(','));
    const copies: string[] = [];
    for (const file of files.filter((f) => f !== 'src/airtable/field-types.ts')) {
      for (const m of readFileSync(file, 'utf8').matchAll(/(?:new Set(?:<[^>]*>)?\(|=)\s*\[([^\]]*)\]/g)) {
        const items = [...(m[1] ?? '').matchAll(/'([A-Za-z]+)'/g)]
          .map((x) => x[1])
          .sort()
          .join(',');
        if (groups.includes(items)) copies.push(`${file}: ${items}`);
      }
    }
    expect(copies, 'import the list or group from src/airtable/field-types.ts').toEqual([]);
  });
});
