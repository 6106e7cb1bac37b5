import { describe, expect, it } from 'vitest';
import { ARCHIVE_BASE_ID, DEMO_BASE_ID, demoSeed, EMPTY_BASE_ID, emptySeed } from '../src/sandbox/demo.js';
import { COMPUTED_FIELD_TYPES, type FieldDef, type SeedBase, type TableDef } from '../src/sandbox/model.js';

const ID_RE = /^(app|tbl|fld|viw|rec|sel|com|usr)[0-9A-Za-z]{14}$/;

function tableByName(seed: SeedBase, name: string): TableDef {
  const t = seed.base.tables.find((x) => x.name === name);
  if (!t) throw new Error(`no table ${name}`);
  return t;
}

function fieldByName(t: TableDef, name: string): FieldDef {
  const f = t.fields.find((x) => x.name === name);
  if (!f) throw new Error(`no field ${name} in ${t.name}`);
  return f;
}

/** Every id in a seed, with the prefix it must carry. */
function collectIds(seeds: SeedBase[]): Array<[id: string, prefix: string]> {
  const out: Array<[string, string]> = [];
  for (const s of seeds) {
    out.push([s.base.id, 'app']);
    for (const t of s.base.tables) {
      out.push([t.id, 'tbl']);
      for (const f of t.fields) {
        out.push([f.id, 'fld']);
        const choices = (f.options?.choices ?? []) as Array<{ id: string }>;
        for (const c of choices) out.push([c.id, 'sel']);
      }
      for (const v of t.views) out.push([v.id, 'viw']);
      for (const r of s.records[t.id] ?? []) out.push([r.id, 'rec']);
    }
    for (const c of s.comments ?? []) out.push([c.id, 'com']);
  }
  return out;
}

/** Cell values as a name-keyed map, for readable assertions. */
function byName(t: TableDef, fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of t.fields) if (f.id in fields) out[f.name] = fields[f.id];
  return out;
}

describe('demo seed', () => {
  const seeds = demoSeed();
  const [demo, archive] = seeds as [SeedBase, SeedBase];

  it('is deterministic and returns fresh objects', () => {
    const a = demoSeed();
    expect(demoSeed()).toEqual(a);
    expect(emptySeed()).toEqual(emptySeed());
    // Mutating one result must not leak into the next call.
    const tasks = tableByName(a[0]!, 'Tasks');
    const firstRecord = a[0]!.records[tasks.id]![0]!;
    firstRecord.fields[fieldByName(tasks, 'Title').id] = 'mutated';
    const labels = a[0]!.records[tasks.id]!.find((r) =>
      Array.isArray(r.fields[fieldByName(tasks, 'Labels').id]),
    )!;
    (labels.fields[fieldByName(tasks, 'Labels').id] as string[]).push('mutated');
    tasks.fields[0]!.name = 'mutated';
    a[0]!.base.tables.pop();
    expect(demoSeed()).toEqual(seeds);
  });

  it('has the expected bases, tables and permission levels', () => {
    expect(demo.base).toMatchObject({ id: DEMO_BASE_ID, name: 'Sandbox Demo', permissionLevel: 'create' });
    expect(archive.base).toMatchObject({
      id: ARCHIVE_BASE_ID,
      name: 'Sandbox Archive',
      permissionLevel: 'edit',
    });
    expect(demo.base.tables.map((t) => t.name)).toEqual(['Projects', 'Tasks', 'People']);
    expect(archive.base.tables.map((t) => t.name)).toEqual(['Projects', 'Log']);
    for (const s of seeds) {
      for (const t of s.base.tables) {
        expect(t.primaryFieldId).toBe(t.fields[0]!.id);
        expect(t.views[0]).toMatchObject({ name: 'Grid view', type: 'grid' });
        expect(t.views[0]!.filterFormula).toBeUndefined();
        expect(new Set(t.fields.map((f) => f.name.toLowerCase())).size).toBe(t.fields.length);
      }
    }
    expect(tableByName(demo, 'Tasks').views[1]).toMatchObject({
      name: 'Open tasks',
      filterFormula: "{Status} != 'Done'",
      sort: [{ field: 'Due', direction: 'asc' }],
    });
    expect(tableByName(demo, 'Projects').views[1]).toMatchObject({
      name: 'Active projects',
      filterFormula: "{Status}='Active'",
    });
    expect(tableByName(demo, 'People').views[1]).toMatchObject({ name: 'Kanban by role', type: 'kanban' });
  });

  it('uses valid, unique ids with the right prefixes', () => {
    const all = collectIds(seeds);
    for (const [id, prefix] of all) {
      expect(id).toMatch(ID_RE);
      expect(id.slice(0, 3)).toBe(prefix);
    }
    expect(new Set(all.map(([id]) => id)).size).toBe(all.length);
    for (const c of demo.comments ?? []) {
      expect(c.author.id).toMatch(/^usr[0-9A-Za-z]{14}$/);
      expect(c.author).toMatchObject({ email: 'demo@sandbox.local', name: 'Sandbox User' });
    }
  });

  it('has enough records', () => {
    const count = (name: string) => demo.records[tableByName(demo, name).id]!.length;
    expect(count('People')).toBeGreaterThanOrEqual(35);
    expect(count('Projects')).toBeGreaterThanOrEqual(20);
    expect(count('Tasks')).toBeGreaterThanOrEqual(150);
    expect(count('People') + count('Projects') + count('Tasks')).toBeGreaterThanOrEqual(200);
    expect(archive.records[tableByName(archive, 'Projects').id]).toHaveLength(15);
    expect(archive.records[tableByName(archive, 'Log').id]!.length).toBeGreaterThanOrEqual(8);
  });

  it('stores only valid, non-empty, non-computed cells keyed by field id', () => {
    for (const s of seeds) {
      expect(Object.keys(s.records).sort()).toEqual(s.base.tables.map((t) => t.id).sort());
      for (const t of s.base.tables) {
        const fields = new Map(t.fields.map((f) => [f.id, f]));
        let previous = '';
        for (const r of s.records[t.id]!) {
          expect(r.createdTime).toMatch(/^2026-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
          expect(r.createdTime > previous).toBe(true);
          previous = r.createdTime;
          expect(r.fields[t.primaryFieldId]).toBeTypeOf('string');
          for (const [key, value] of Object.entries(r.fields)) {
            const f = fields.get(key);
            expect(f, `${t.name}.${key}`).toBeDefined();
            expect(COMPUTED_FIELD_TYPES.has(f!.type), `${t.name}.${f!.name} is computed`).toBe(false);
            expect(value).not.toBeNull();
            expect(value).not.toBe('');
            expect(value).not.toBe(false);
            if (Array.isArray(value)) expect(value.length).toBeGreaterThan(0);
            const choices = ((f!.options?.choices ?? []) as Array<{ name: string }>).map((c) => c.name);
            switch (f!.type) {
              case 'singleSelect':
                expect(choices).toContain(value);
                break;
              case 'multipleSelects':
                expect(Array.isArray(value)).toBe(true);
                for (const v of value as unknown[]) expect(choices).toContain(v);
                expect(new Set(value as unknown[]).size).toBe((value as unknown[]).length);
                break;
              case 'checkbox':
                expect(value).toBe(true);
                break;
              case 'date':
                expect(value).toMatch(/^\d{4}-\d\d-\d\d$/);
                break;
              case 'dateTime':
                expect(value).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
                break;
              case 'number':
              case 'currency':
                expect(value).toBeTypeOf('number');
                break;
              case 'percent':
                expect(value).toBeGreaterThanOrEqual(0);
                expect(value).toBeLessThanOrEqual(1);
                break;
              case 'rating':
                expect(Number.isInteger(value)).toBe(true);
                expect(value).toBeGreaterThanOrEqual(1);
                expect(value).toBeLessThanOrEqual(Number(f!.options?.max));
                break;
              case 'multipleRecordLinks':
                for (const v of value as unknown[]) expect(v).toMatch(/^rec[0-9A-Za-z]{14}$/);
                break;
              default:
                expect(value).toBeTypeOf('string');
            }
          }
        }
      }
    }
  });

  it('keeps links valid and both sides consistent', () => {
    const recordIds = new Map(demo.base.tables.map((t) => [t.id, demo.records[t.id]!.map((r) => r.id)]));
    let links = 0;
    for (const t of demo.base.tables) {
      for (const f of t.fields.filter((x) => x.type === 'multipleRecordLinks')) {
        links++;
        const opts = f.options as {
          linkedTableId: string;
          isReversed: boolean;
          prefersSingleRecordLink: boolean;
          inverseLinkFieldId: string;
        };
        expect(opts.isReversed).toBe(false);
        expect(typeof opts.prefersSingleRecordLink).toBe('boolean');
        const other = demo.base.tables.find((x) => x.id === opts.linkedTableId)!;
        expect(other).toBeDefined();
        const inverse = other.fields.find((x) => x.id === opts.inverseLinkFieldId)!;
        expect(inverse.type).toBe('multipleRecordLinks');
        expect(inverse.options).toMatchObject({ linkedTableId: t.id, inverseLinkFieldId: f.id });

        // Expected inverse side, built from this side in record order.
        const expected = new Map<string, string[]>();
        for (const r of demo.records[t.id]!) {
          const targets = (r.fields[f.id] ?? []) as string[];
          if (opts.prefersSingleRecordLink) expect(targets.length).toBeLessThanOrEqual(1);
          for (const target of targets) {
            expect(recordIds.get(other.id)).toContain(target);
            expected.set(target, [...(expected.get(target) ?? []), r.id]);
          }
        }
        for (const r of demo.records[other.id]!) {
          expect(r.fields[inverse.id] ?? [], `${other.name}.${inverse.name} of ${r.id}`).toEqual(
            expected.get(r.id) ?? [],
          );
        }
      }
    }
    expect(links).toBe(6);
    const tasks = tableByName(demo, 'Tasks');
    const projects = tableByName(demo, 'Projects');
    expect(fieldByName(tasks, 'Project').options).toMatchObject({ prefersSingleRecordLink: true });
    expect(fieldByName(projects, 'Owner').options).toMatchObject({ prefersSingleRecordLink: true });
  });

  it('defines computed fields with real field ids', () => {
    const projects = tableByName(demo, 'Projects');
    const ids = (names: string[]) => names.map((n) => fieldByName(projects, n).id);
    const [status, priority, tasksLink] = ids(['Status', 'Priority', 'Tasks']);
    expect(fieldByName(projects, 'Task Count')).toMatchObject({
      type: 'count',
      options: { isValid: true, recordLinkFieldId: tasksLink },
    });
    expect(fieldByName(projects, 'Project Code').type).toBe('autoNumber');
    expect(fieldByName(projects, 'Created')).toMatchObject({
      type: 'createdTime',
      options: { result: { type: 'dateTime' } },
    });
    expect(fieldByName(projects, 'Summary')).toMatchObject({
      type: 'formula',
      options: {
        formula: `{${status}} & " — " & {${priority}}`,
        isValid: true,
        referencedFieldIds: [status, priority],
        result: { type: 'singleLineText' },
      },
    });
    expect(fieldByName(tableByName(demo, 'Tasks'), 'Task ID').type).toBe('autoNumber');
  });

  it('contains near-duplicates, stored zeros and CSV-hostile text', () => {
    const norm = (v: unknown) => String(v).trim().toLowerCase();
    const dupGroups = (t: TableDef, fieldName: string) => {
      const groups = new Map<string, Set<string>>();
      const id = fieldByName(t, fieldName).id;
      for (const r of demo.records[t.id]!) {
        const v = r.fields[id];
        if (v === undefined) continue;
        groups.set(norm(v), (groups.get(norm(v)) ?? new Set()).add(String(v)));
      }
      return [...groups.values()].filter((g) => g.size > 1);
    };
    const tasks = tableByName(demo, 'Tasks');
    const people = tableByName(demo, 'People');
    expect(dupGroups(tasks, 'Title').length).toBeGreaterThanOrEqual(5);
    expect(dupGroups(people, 'Name').length).toBeGreaterThanOrEqual(3);
    expect(dupGroups(people, 'Email').length).toBeGreaterThanOrEqual(3);
    expect(dupGroups(people, 'Name').flatMap((g) => [...g])).toContain(' maria garcia');

    const peopleRows = demo.records[people.id]!.map((r) => byName(people, r.fields));
    expect(peopleRows.filter((r) => r.Email === undefined).length).toBeGreaterThanOrEqual(3);
    expect(peopleRows.filter((r) => r.Phone === undefined).length).toBeGreaterThanOrEqual(3);

    const zeros = demo.base.tables.flatMap((t) =>
      demo.records[t.id]!.flatMap((r) => Object.values(r.fields)),
    );
    expect(zeros.filter((v) => v === 0).length).toBeGreaterThanOrEqual(1);
    const taskRows = demo.records[tasks.id]!.map((r) => byName(tasks, r.fields));
    expect(taskRows.some((r) => r['Estimate Hours'] === 0)).toBe(true);
    expect(new Set(taskRows.map((r) => r['Estimate Hours'])).size).toBeGreaterThan(30);
    expect(taskRows.filter((r) => Object.keys(r).length === 1).length).toBeGreaterThanOrEqual(3);

    const notes = taskRows.map((r) => r.Notes).filter((n): n is string => typeof n === 'string');
    expect(notes.some((n) => n.includes(','))).toBe(true);
    expect(notes.some((n) => n.includes('"'))).toBe(true);
    expect(notes.some((n) => n.includes('\n'))).toBe(true);
    expect(notes.some((n) => /\p{Extended_Pictographic}/u.test(n))).toBe(true);
  });

  it('has a handful of comments on demo tasks', () => {
    const tasks = tableByName(demo, 'Tasks');
    const taskRecords = new Map(demo.records[tasks.id]!.map((r) => [r.id, r]));
    const comments = demo.comments ?? [];
    expect(comments.length).toBeGreaterThanOrEqual(5);
    expect(comments.length).toBeLessThanOrEqual(10);
    const commentIds = new Set(comments.map((c) => c.id));
    for (const c of comments) {
      const record = taskRecords.get(c.recordId);
      expect(record).toBeDefined();
      expect(c.createdTime > record!.createdTime).toBe(true);
      if (c.parentCommentId) expect(commentIds).toContain(c.parentCommentId);
    }
  });

  it('makes Archive Projects overlap the demo Projects by name', () => {
    const demoProjects = tableByName(demo, 'Projects');
    const archProjects = tableByName(archive, 'Projects');
    const copied = [
      'Name',
      'Status',
      'Priority',
      'Budget',
      'Start Date',
      'Due Date',
      'Tags',
      'Description',
      'Archived',
      'Progress',
    ];
    expect(archProjects.fields.map((f) => f.name)).toEqual(copied);
    for (const name of copied) {
      const a = fieldByName(archProjects, name);
      const d = fieldByName(demoProjects, name);
      expect(a.type).toBe(d.type);
      expect(a.id).not.toBe(d.id);
    }
    const demoByName = new Map(
      demo.records[demoProjects.id]!.map((r) => {
        const v = byName(demoProjects, r.fields);
        return [v.Name as string, v];
      }),
    );
    let identical = 0;
    let changed = 0;
    let onlyHere = 0;
    for (const r of archive.records[archProjects.id]!) {
      const a = byName(archProjects, r.fields);
      const d = demoByName.get(a.Name as string);
      if (!d) {
        onlyHere++;
        continue;
      }
      const dCopied = Object.fromEntries(copied.filter((n) => n in d).map((n) => [n, d[n]]));
      if (JSON.stringify(dCopied) === JSON.stringify(a)) identical++;
      else {
        changed++;
        expect(a.Status).not.toBe(d.Status);
        expect(a.Budget).not.toBe(d.Budget);
        expect({ ...a, Status: d.Status, Budget: d.Budget }).toEqual(dCopied);
      }
    }
    expect({ identical, changed, onlyHere }).toEqual({ identical: 5, changed: 5, onlyHere: 5 });

    const log = tableByName(archive, 'Log');
    expect(log.fields.map((f) => [f.name, f.type])).toEqual([
      ['Name', 'singleLineText'],
      ['When', 'dateTime'],
      ['Level', 'singleSelect'],
    ]);
    expect(fieldByName(log, 'When').options).toEqual({
      timeZone: 'utc',
      dateFormat: { name: 'iso', format: 'YYYY-MM-DD' },
      timeFormat: { name: '24hour', format: 'HH:mm' },
    });
  });
});

describe('empty seed', () => {
  it('has one base with one empty table', () => {
    const seeds = emptySeed();
    expect(seeds).toHaveLength(1);
    const [seed] = seeds as [SeedBase];
    expect(seed.base).toMatchObject({ id: EMPTY_BASE_ID, name: 'Sandbox' });
    expect(seed.base.tables).toHaveLength(1);
    const t = seed.base.tables[0]!;
    expect(t.name).toBe('Table 1');
    expect(t.fields.map((f) => [f.name, f.type])).toEqual([
      ['Name', 'singleLineText'],
      ['Notes', 'multilineText'],
    ]);
    expect(t.primaryFieldId).toBe(t.fields[0]!.id);
    expect(t.views).toEqual([{ id: t.views[0]!.id, name: 'Grid view', type: 'grid' }]);
    expect(seed.records[t.id] ?? []).toEqual([]);
    for (const [id, prefix] of collectIds(seeds)) {
      expect(id).toMatch(ID_RE);
      expect(id.slice(0, 3)).toBe(prefix);
    }
  });
});
