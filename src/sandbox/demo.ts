/**
 * Seed data for the sandbox: the "Sandbox Demo" base (Projects, Tasks, People), the "Sandbox Archive"
 * base (a sync target) and a minimal empty base. Everything is generated from small seeded PRNGs and
 * fixed timestamps, so every call returns identical (but freshly allocated) data.
 *
 * Records are keyed by field id in Airtable's JSON cell format; empty cells are omitted and computed
 * fields (count, autoNumber, createdTime, formula) are never stored: the sandbox computes them.
 */
import type { CommentRow, FieldDef, FieldType, RecordRow, SeedBase, TableDef, ViewDef } from './model.js';
import { SANDBOX_USER } from './users.js';

export const DEMO_BASE_ID = 'appSandboxDemo001';
export const ARCHIVE_BASE_ID = 'appSandboxArchive';
export const EMPTY_BASE_ID = 'appSandboxEmpty01';

// ---------------------------------------------------------------------------------------------------
// Deterministic randomness and ids
// ---------------------------------------------------------------------------------------------------

const ID_CHARS = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

type IdPrefix = 'app' | 'tbl' | 'fld' | 'viw' | 'rec' | 'sel' | 'com' | 'usr';

/** mulberry32: a tiny, fast, well-distributed 32-bit PRNG. */
class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }

  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }

  /** `n` distinct items, in random order. */
  sample<T>(items: readonly T[], n: number): T[] {
    return this.shuffle(items).slice(0, n);
  }
}

/** Issues unique Airtable-style ids (prefix + 14 chars of [0-9A-Za-z]) from its own PRNG stream. */
class IdSource {
  private readonly rng: Rng;
  private readonly issued = new Set<string>();

  constructor(seed: number) {
    this.rng = new Rng(seed);
  }

  id(prefix: IdPrefix): string {
    for (;;) {
      let id = prefix;
      for (let i = 0; i < 14; i++) id += ID_CHARS[Math.floor(this.rng.next() * ID_CHARS.length)];
      if (!this.issued.has(id)) {
        this.issued.add(id);
        return id;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Small builders
// ---------------------------------------------------------------------------------------------------

type Choice = readonly [name: string, color: string];
type Cells = Record<string, unknown>;

function field(
  ids: IdSource,
  name: string,
  type: FieldType,
  description?: string,
  options?: Record<string, unknown>,
): FieldDef {
  const def: FieldDef = { id: ids.id('fld'), name, type };
  if (description) def.description = description;
  if (options) def.options = options;
  return def;
}

function selectOptions(ids: IdSource, choices: readonly Choice[]): Record<string, unknown> {
  return { choices: choices.map(([name, color]) => ({ id: ids.id('sel'), name, color })) };
}

function linkField(
  ids: IdSource,
  name: string,
  linkedTableId: string,
  prefersSingleRecordLink: boolean,
  description?: string,
): FieldDef {
  return field(ids, name, 'multipleRecordLinks', description, {
    linkedTableId,
    isReversed: false,
    prefersSingleRecordLink,
  });
}

/** Makes two link fields each other's inverse. */
function pairLinks(a: FieldDef, b: FieldDef): void {
  a.options = { ...a.options, inverseLinkFieldId: b.id };
  b.options = { ...b.options, inverseLinkFieldId: a.id };
}

function view(ids: IdSource, name: string, type: ViewDef['type'], extra: Partial<ViewDef> = {}): ViewDef {
  return { id: ids.id('viw'), name, type, ...extra };
}

function table(
  id: string,
  name: string,
  description: string | undefined,
  fields: FieldDef[],
  views: ViewDef[],
): TableDef {
  const def: TableDef = { id, name, primaryFieldId: fields[0]!.id, fields, views };
  if (description) def.description = description;
  return def;
}

/** Field ids by name, for readable record builders. */
function fieldIds<const N extends string>(t: TableDef, names: readonly N[]): Record<N, string> {
  const out = {} as Record<N, string>;
  for (const name of names) {
    const f = t.fields.find((x) => x.name === name);
    if (!f) throw new Error(`demo seed: no field ${name} in ${t.name}`);
    out[name] = f.id;
  }
  return out;
}

/** Stores a cell unless it is empty in Airtable's sense ("" / [] / false / null / undefined). */
function put(cells: Cells, fieldId: string, value: unknown): void {
  if (value === undefined || value === null || value === '' || value === false) return;
  if (Array.isArray(value) && value.length === 0) return;
  cells[fieldId] = value;
}

/** Re-keys cells in the table's field order (what real responses do). */
function ordered(t: TableDef, cells: Cells): Cells {
  const out: Cells = {};
  for (const f of t.fields) if (f.id in cells) out[f.id] = cells[f.id];
  return out;
}

/** `count` increasing ISO timestamps (with milliseconds) starting at `start`. */
function timeline(rng: Rng, start: string, count: number, minMinutes: number, maxMinutes: number): string[] {
  let t = Date.parse(start);
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    out.push(new Date(t).toISOString());
    t += rng.int(minMinutes, maxMinutes) * 60_000 + rng.int(1, 999);
  }
  return out;
}

const DAY_MS = 86_400_000;

function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00.000Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00.000Z`) - Date.parse(`${from}T00:00:00.000Z`)) / DAY_MS);
}

function emailFor(name: string): string {
  return `${name
    .trim()
    .normalize('NFD')
    .replace(/[\u0300-\u036f']/g, '')
    .toLowerCase()
    .split(/\s+/)
    .join('.')}@example.com`;
}

// ---------------------------------------------------------------------------------------------------
// Static data
// ---------------------------------------------------------------------------------------------------

const ISO_DATE = { dateFormat: { name: 'iso', format: 'YYYY-MM-DD' } };
const UTC_DATETIME = {
  timeZone: 'utc',
  dateFormat: { name: 'iso', format: 'YYYY-MM-DD' },
  timeFormat: { name: '24hour', format: 'HH:mm' },
};

const ROLE_CHOICES: readonly Choice[] = [
  ['Engineer', 'blueLight2'],
  ['Designer', 'purpleLight2'],
  ['Product Manager', 'greenLight2'],
  ['Marketing', 'orangeLight2'],
  ['Sales', 'yellowLight2'],
  ['Support', 'cyanLight2'],
];
const PROJECT_STATUS_CHOICES: readonly Choice[] = [
  ['Planning', 'grayLight2'],
  ['Active', 'blueBright'],
  ['On Hold', 'orangeLight1'],
  ['Done', 'greenBright'],
];
const PROJECT_PRIORITY_CHOICES: readonly Choice[] = [
  ['Low', 'grayLight2'],
  ['Medium', 'yellowLight2'],
  ['High', 'orangeLight2'],
  ['Critical', 'redBright'],
];
const PROJECT_TAG_CHOICES: readonly Choice[] = [
  ['Internal', 'grayLight2'],
  ['Client', 'blueLight2'],
  ['R&D', 'purpleLight2'],
  ['Infrastructure', 'tealLight2'],
  ['Marketing', 'pinkLight2'],
];
const TASK_STATUS_CHOICES: readonly Choice[] = [
  ['Todo', 'grayLight2'],
  ['In Progress', 'blueLight2'],
  ['Blocked', 'redLight2'],
  ['Done', 'greenLight2'],
];
const TASK_PRIORITY_CHOICES: readonly Choice[] = [
  ['Low', 'grayLight2'],
  ['Medium', 'yellowLight2'],
  ['High', 'redLight2'],
];
const TASK_LABEL_CHOICES: readonly Choice[] = [
  ['bug', 'redLight2'],
  ['feature', 'greenLight2'],
  ['chore', 'grayLight2'],
  ['docs', 'blueLight2'],
  ['urgent', 'redBright'],
];
const LOG_LEVEL_CHOICES: readonly Choice[] = [
  ['info', 'blueLight2'],
  ['warn', 'yellowBright'],
  ['error', 'redBright'],
];

/** [name, role, email] — email omitted: derived from the name; '' : blank. */
type PersonRow = readonly [name: string, role: string, email?: string];
const PEOPLE: readonly PersonRow[] = [
  ['Maria Garcia', 'Engineer'],
  ['James Wilson', 'Product Manager'],
  ['Aisha Khan', 'Designer'],
  ['Liam Chen', 'Engineer'],
  ['Sofia Rossi', 'Marketing'],
  ['Noah Johnson', 'Sales'],
  ['Emma Müller', 'Support'],
  ['Oliver Brown', 'Engineer'],
  ['Ava Thompson', 'Designer', ''],
  ['Lucas Silva', 'Engineer'],
  ['Mia Nguyen', 'Product Manager'],
  ['Ethan Davis', 'Support'],
  ['Isabella Martin', 'Marketing'],
  ['Mason Lee', 'Engineer'],
  ['Amelia Clark', 'Sales'],
  ['Logan Walker', 'Engineer'],
  ['Harper Young', 'Designer'],
  ['Elijah King', 'Support', ''],
  ['Evelyn Wright', 'Product Manager'],
  ['Benjamin Scott', 'Engineer'],
  [' maria garcia', 'Engineer', 'Maria.Garcia@Example.com'],
  ['Chloe Adams', 'Marketing'],
  ['Daniel Baker', 'Sales'],
  ['Zoe Turner', 'Engineer'],
  ['Samuel Hill', 'Support'],
  ['Grace Campbell', 'Designer'],
  ["Conor O'Brien", 'Engineer', ''],
  ['Hannah Mitchell', 'Sales'],
  ['Ravi Sharma', 'Engineer'],
  ['Yuki Tanaka', 'Product Manager'],
  ['James Wilson ', 'Product Manager', 'JAMES.WILSON@example.com'],
  ['Fatima Ali', 'Marketing'],
  ['Lena Novak', 'Engineer'],
  ['Diego Ramírez', 'Support', ''],
  ['Ingrid Larsen', 'Designer'],
  ['Kwame Mensah', 'Sales'],
  ['Anna Kowalski', 'Engineer'],
  ['Tom Becker', 'Support'],
  ['aisha khan', 'Designer', 'Aisha.Khan@Example.com'],
  ['Priya Patel', 'Engineer'],
];
/** People (by index) with no phone number. */
const PEOPLE_WITHOUT_PHONE = new Set([5, 12, 17, 22, 29, 33, 38]);

const BIOS: readonly string[] = [
  'Joined from a fintech startup; loves Rust and bouldering.',
  'Runs the Thursday design critique.\nAsk about the colour tokens.',
  'Speaks English, Spanish and Portuguese.',
  'Owns the on-call rotation schedule.',
  'Based in Lisbon 🇵🇹 — usually online 09:00–17:00 UTC.',
  'Previously led support at a "very large" e-commerce company.',
  'Part-time; Mondays to Wednesdays.',
  'Mentor for the 2026 intern cohort.',
  'Enjoys SQL puzzles, long runs, and terrible puns.',
];

/** [name, status, priority, owner, budget, start, due, tags, description, archived, progress] */
type ProjectRow = readonly [
  name: string,
  status: string,
  priority: string,
  owner: string | null,
  budget: number | null,
  start: string | null,
  due: string | null,
  tags: readonly string[],
  description: string | null,
  archived: boolean,
  progress: number | null,
];
// biome-ignore format: compact data table
const PROJECTS: readonly ProjectRow[] = [
  ['Website Redesign', 'Active', 'High', 'James Wilson', 85000, '2026-01-12', '2026-06-30', ['Client', 'Marketing'], 'Refresh the public site with the new design system and faster pages.', false, 0.45],
  ['Mobile App v2', 'Active', 'Critical', 'Mia Nguyen', 240000, '2026-02-02', '2026-09-15', ['Client', 'R&D'], 'Second major version of the iOS and Android apps: offline mode, new navigation.', false, 0.3],
  ['Data Warehouse Migration', 'Planning', 'High', 'Liam Chen', 120000, '2026-04-01', '2026-12-18', ['Infrastructure', 'Internal'], 'Move reporting from the legacy warehouse to the new columnar store.', false, 0],
  ['Customer Portal', 'Active', 'Medium', 'Evelyn Wright', 64000.5, '2025-11-03', '2026-05-29', ['Client'], 'Self-service portal for invoices, users and support tickets.', false, 0.72],
  ['Q3 Marketing Campaign', 'Planning', 'Medium', 'Sofia Rossi', 30000, '2026-07-01', '2026-09-30', ['Marketing'], 'Autumn campaign: webinars, paid social and a refreshed case-study page.', false, 0],
  ['Onboarding Revamp', 'On Hold', 'Low', 'Yuki Tanaka', 12500, '2026-01-20', '2026-04-30', ['Internal'], 'Shorter first week for new hires, with a buddy programme.', false, 0.2],
  ['Billing System Upgrade', 'Done', 'Critical', 'Mason Lee', 98000, '2025-06-02', '2025-12-19', ['Infrastructure', 'Client'], 'Replace the in-house invoicing engine with the new billing provider.', true, 1],
  ['Security Audit 2026', 'Active', 'Critical', 'Benjamin Scott', 45000, '2026-02-16', '2026-04-17', ['Internal', 'Infrastructure'], 'Annual external penetration test and SOC 2 evidence collection.', false, 0.6],
  ['Design System', 'Active', 'Medium', 'Aisha Khan', 38000, '2025-10-06', '2026-07-31', ['Internal', 'R&D'], 'Shared components, tokens and documentation for every product surface.', false, 0.55],
  ['Analytics Dashboard', 'Done', 'High', 'Ravi Sharma', 52000, '2025-08-11', '2026-01-30', ['Client'], 'Customer-facing usage dashboard with CSV export.', false, 1],
  ['API Gateway', 'Active', 'High', 'Zoe Turner', 76000, '2026-01-05', '2026-08-28', ['Infrastructure'], 'Single entry point for public APIs: auth, quotas and request logging.', false, 0.4],
  ['Support Knowledge Base', 'Done', 'Low', 'Ethan Davis', 8000, '2025-09-01', '2025-11-28', ['Internal'], 'Searchable help-centre articles for the top 50 ticket topics.', false, 1],
  ['Partner Integrations', 'On Hold', 'Medium', 'Kwame Mensah', 41000, '2026-02-09', '2026-10-30', ['Client', 'Marketing'], 'Native integrations with three CRM partners.', false, 0.15],
  ['Internal Wiki', 'Done', 'Low', null, 0, '2025-03-03', '2025-05-30', ['Internal'], 'Consolidate team docs into a single wiki.', true, 1],
  ['Cost Optimization', 'Active', 'Medium', 'Anna Kowalski', null, '2026-03-02', null, ['Infrastructure'], 'Cut cloud spend by 20% without hurting latency.', false, 0.25],
  ['Search Relevance', 'Planning', 'High', 'Lena Novak', 56000, '2026-05-04', '2026-11-27', ['R&D'], 'Better ranking for in-app search using click feedback.', false, 0],
  ['Localization (i18n)', 'Active', 'Medium', 'Logan Walker', 27000, '2026-01-26', '2026-06-26', ['Client', 'R&D'], 'Ship the product in German, Japanese and Brazilian Portuguese.', false, 0.35],
  ['Accessibility Review', 'Planning', 'High', 'Harper Young', null, '2026-04-13', '2026-06-12', ['Internal', 'Client'], 'WCAG 2.2 AA review of the web app, with fixes prioritised by impact.', false, null],
  ['Email Automation', 'Active', 'Low', 'Chloe Adams', 15000, '2026-01-19', '2026-03-31', ['Marketing'], 'Lifecycle emails for trial users, driven by product events.', false, 0.8],
  ['CRM Cleanup', 'On Hold', 'Low', 'Amelia Clark', 5000, '2026-02-23', '2026-03-27', ['Internal'], 'Merge duplicate contacts and fix ownership of stale accounts.', false, 0.1],
  ['Kubernetes Migration', 'Active', 'Critical', 'Oliver Brown', 130000, '2025-12-01', '2026-07-10', ['Infrastructure'], 'Move the remaining VM workloads onto the shared cluster.', false, 0.5],
  ['Product Launch: Atlas', 'Planning', 'Critical', 'Lucas Silva', 200000, '2026-06-01', '2026-10-15', ['Client', 'Marketing', 'R&D'], 'Launch of the Atlas planning product: beta, pricing, press.', false, 0],
  ['Hiring Pipeline', 'Done', 'Medium', 'Samuel Hill', null, '2025-07-07', '2025-10-31', ['Internal'], 'Structured interviews and a shared scorecard for engineering roles.', false, 1],
  ['Brand Refresh', 'On Hold', 'Medium', 'Grace Campbell', 60000, '2026-03-16', null, ['Marketing'], 'New logo, typography and tone-of-voice guide.', false, null],
  ['Project "Phoenix", Phase 2', 'Planning', 'Low', null, null, null, null, ['R&D'], null, false, null],
];

const TASK_ACTIONS: readonly string[] =
  'Fix|Update|Review|Write tests for|Design|Document|Refactor|Migrate|Deploy|Audit|Plan|Prototype|Optimize|Research|Clean up|Localize'.split(
    '|',
  );
const TASK_OBJECTS: readonly string[] = (
  'login flow|billing page|search API|onboarding emails|user settings|CSV export|dashboard charts|release notes|' +
  'error handling|CI pipeline|database indexes|permissions model|mobile navigation|pricing page|webhooks|analytics events'
).split('|');

const TASK_COUNT = 160;
/** Task index → [index of an earlier task, how its title is varied] — near-duplicate titles. */
const NEAR_DUPLICATE_TASKS = new Map<number, readonly [number, (title: string) => string]>([
  [41, [3, (t) => t.toLowerCase()]],
  [73, [20, (t) => `${t} `]],
  [99, [55, (t) => t.toUpperCase()]],
  [131, [81, (t) => `${t}  `]],
  [157, [110, (t) => `${t.toLowerCase()} `]],
]);
/** Tasks that only have a Title. */
const SPARSE_TASKS = new Set([13, 47, 88, 102, 139, 151]);
/** Tasks whose Estimate Hours is explicitly 0. */
const ZERO_ESTIMATE_TASKS = new Set([7, 58, 121]);

const TASK_NOTES: readonly string[] = [
  'Blocked on the vendor, see thread from Monday.',
  'Customer said: "the export button does nothing" — reproduce first.',
  'Steps:\n1. Open settings\n2. Click "Save"\n3. Observe the 500 error',
  'Needs sign-off from legal, finance, and security.',
  'Use the "v2" endpoint, not "v1", for new calls.',
  'Waiting for design review 🎨',
  'Ship it 🚀 once QA passes.',
  'Überprüfung der Übersetzungen — naïve café résumé test strings.',
  'Line one\nLine two, with a comma\nLine "three"',
  'Estimate is rough; could be 2x if the migration script fails.',
  '日本語のテキストも確認すること。',
  'Pair with support to collect 3–5 examples, then file follow-ups.',
  'Quick win.',
  'See the spec: https://example.com/specs/42?tab=notes&v=2',
];

/** Projects that exist only in the archive. */
// biome-ignore format: compact data table
const ARCHIVE_ONLY_PROJECTS: readonly ProjectRow[] = [
  ['Legacy CRM Sunset', 'Done', 'Medium', null, 22000, '2024-02-05', '2024-06-28', ['Internal'], 'Retire the old CRM after the data migration.', true, 1],
  ['Office Move 2024', 'Done', 'Low', null, 18000, '2024-05-06', '2024-08-30', ['Internal'], 'Move the Berlin team to the new office.', true, 1],
  ['Intranet v1', 'Done', 'Low', null, null, '2023-09-04', '2024-01-26', ['Internal'], 'The first intranet, replaced by the Internal Wiki.', true, 1],
  ['Print Catalog', 'On Hold', 'Low', null, 9500, '2024-10-07', null, ['Marketing'], 'Printed product catalogue for trade fairs.', false, 0.1],
  ['Fax Gateway Retirement', 'Active', 'Medium', null, 4000, '2025-01-13', '2026-03-31', ['Infrastructure', 'Client'], 'Move the last customers off the fax gateway.', false, 0.9],
];
/** Demo project names copied to the archive unchanged. */
const ARCHIVE_IDENTICAL = [
  'Billing System Upgrade',
  'Analytics Dashboard',
  'Support Knowledge Base',
  'Internal Wiki',
  'Hiring Pipeline',
];
/** Demo project names copied to the archive with a different Status and Budget. */
const ARCHIVE_CHANGED: readonly (readonly [name: string, status: string, budget: number])[] = [
  ['Website Redesign', 'Planning', 80000],
  ['Customer Portal', 'On Hold', 60000],
  ['Onboarding Revamp', 'Active', 15000],
  ['Security Audit 2026', 'Planning', 40000],
  ['Partner Integrations', 'Active', 45000.75],
];

const LOG_ENTRIES: readonly (readonly [name: string, when: string, level: string])[] = [
  ['Archive created', '2026-01-02T08:00:00.000Z', 'info'],
  ['Nightly sync started', '2026-01-03T01:00:00.000Z', 'info'],
  ['Nightly sync finished: 10 updated', '2026-01-03T01:02:41.000Z', 'info'],
  ['Budget mismatch for "Customer Portal"', '2026-01-03T01:02:42.000Z', 'warn'],
  ['Nightly sync started', '2026-01-04T01:00:00.000Z', 'info'],
  ['Rate limited (429), retrying in 30s', '2026-01-04T01:00:12.000Z', 'warn'],
  ['Sync failed: connection reset', '2026-01-04T01:01:05.000Z', 'error'],
  ['Nightly sync started', '2026-01-05T01:00:00.000Z', 'info'],
  ['Nightly sync finished: 0 updated', '2026-01-05T01:01:58.000Z', 'info'],
  ['Manual export, 15 rows', '2026-01-06T14:30:00.000Z', 'info'],
];

// ---------------------------------------------------------------------------------------------------
// Sandbox Demo
// ---------------------------------------------------------------------------------------------------

function buildDemo(ids: IdSource, rng: Rng): SeedBase {
  const projectsTableId = ids.id('tbl');
  const tasksTableId = ids.id('tbl');
  const peopleTableId = ids.id('tbl');

  // --- Projects schema
  const pStatus = field(
    ids,
    'Status',
    'singleSelect',
    'Where the project is in its lifecycle.',
    selectOptions(ids, PROJECT_STATUS_CHOICES),
  );
  const pPriority = field(
    ids,
    'Priority',
    'singleSelect',
    'Business priority.',
    selectOptions(ids, PROJECT_PRIORITY_CHOICES),
  );
  const pOwner = linkField(ids, 'Owner', peopleTableId, true, 'The person accountable for the project.');
  const pTasks = linkField(ids, 'Tasks', tasksTableId, false, 'Tasks that belong to this project.');
  const projects = table(
    projectsTableId,
    'Projects',
    'Every project the team runs, with owner, budget and schedule.',
    [
      field(ids, 'Name', 'singleLineText', 'Project name.'),
      pStatus,
      pPriority,
      pOwner,
      pTasks,
      field(ids, 'Budget', 'currency', 'Approved budget in US dollars.', { precision: 2, symbol: '$' }),
      field(ids, 'Start Date', 'date', 'Planned start.', { ...ISO_DATE }),
      field(ids, 'Due Date', 'date', 'Planned finish.', { ...ISO_DATE }),
      field(ids, 'Tags', 'multipleSelects', 'Kind of work.', selectOptions(ids, PROJECT_TAG_CHOICES)),
      field(ids, 'Description', 'multilineText', 'What the project delivers and why.'),
      field(ids, 'Archived', 'checkbox', 'Hidden from day-to-day views.', {
        icon: 'check',
        color: 'grayBright',
      }),
      field(ids, 'Progress', 'percent', 'Share of the work completed.', { precision: 0 }),
      field(ids, 'Task Count', 'count', 'Number of linked tasks.', {
        isValid: true,
        recordLinkFieldId: pTasks.id,
      }),
      field(ids, 'Project Code', 'autoNumber', 'Sequential project number.'),
      field(ids, 'Created', 'createdTime', 'When the record was created.', {
        result: { type: 'dateTime', options: { ...UTC_DATETIME } },
      }),
      field(ids, 'Summary', 'formula', 'Status and priority at a glance.', {
        formula: `{${pStatus.id}} & " — " & {${pPriority.id}}`,
        isValid: true,
        referencedFieldIds: [pStatus.id, pPriority.id],
        result: { type: 'singleLineText' },
      }),
    ],
    [
      view(ids, 'Grid view', 'grid'),
      view(ids, 'Active projects', 'grid', { filterFormula: "{Status}='Active'" }),
    ],
  );

  // --- Tasks schema
  const tProject = linkField(ids, 'Project', projectsTableId, true, 'The project this task belongs to.');
  const tAssignee = linkField(ids, 'Assignee', peopleTableId, false, 'Who is working on it.');
  const tasks = table(
    tasksTableId,
    'Tasks',
    'Individual pieces of work, linked to projects and people.',
    [
      field(ids, 'Title', 'singleLineText', 'Short summary of the work.'),
      tProject,
      tAssignee,
      field(ids, 'Status', 'singleSelect', 'Current state.', selectOptions(ids, TASK_STATUS_CHOICES)),
      field(ids, 'Priority', 'singleSelect', undefined, selectOptions(ids, TASK_PRIORITY_CHOICES)),
      field(ids, 'Estimate Hours', 'number', 'Estimated effort in hours.', { precision: 1 }),
      field(ids, 'Due', 'date', 'Due date.', { ...ISO_DATE }),
      field(ids, 'Completed', 'checkbox', 'Ticked when the task is done.', {
        icon: 'check',
        color: 'greenBright',
      }),
      field(ids, 'Notes', 'multilineText', 'Free-form notes.'),
      field(ids, 'Labels', 'multipleSelects', 'Kind of task.', selectOptions(ids, TASK_LABEL_CHOICES)),
      field(ids, 'Rating', 'rating', 'How valuable the result was.', {
        icon: 'star',
        max: 5,
        color: 'yellowBright',
      }),
      field(ids, 'Task ID', 'autoNumber', 'Sequential task number.'),
    ],
    [
      view(ids, 'Grid view', 'grid'),
      view(ids, 'Open tasks', 'grid', {
        filterFormula: "{Status} != 'Done'",
        sort: [{ field: 'Due', direction: 'asc' }],
      }),
    ],
  );

  // --- People schema
  const hTasks = linkField(ids, 'Tasks', tasksTableId, false, 'Tasks assigned to this person.');
  const hProjects = linkField(ids, 'Projects Led', projectsTableId, false, 'Projects this person owns.');
  const people = table(
    peopleTableId,
    'People',
    'Team members and their contact details.',
    [
      field(ids, 'Name', 'singleLineText', 'Full name.'),
      field(ids, 'Email', 'email', 'Work email.'),
      field(ids, 'Role', 'singleSelect', 'Job family.', selectOptions(ids, ROLE_CHOICES)),
      field(ids, 'Phone', 'phoneNumber'),
      field(ids, 'Active', 'checkbox', 'Currently on the team.', { icon: 'check', color: 'greenBright' }),
      field(ids, 'Start Date', 'date', 'First day at the company.', { ...ISO_DATE }),
      hTasks,
      hProjects,
      field(ids, 'Bio', 'multilineText', 'A few words about the person.'),
    ],
    [view(ids, 'Grid view', 'grid'), view(ids, 'Kanban by role', 'kanban')],
  );

  pairLinks(pOwner, hProjects);
  pairLinks(pTasks, tProject);
  pairLinks(tAssignee, hTasks);

  const P = fieldIds(projects, [
    'Name',
    'Status',
    'Priority',
    'Owner',
    'Tasks',
    'Budget',
    'Start Date',
    'Due Date',
    'Tags',
    'Description',
    'Archived',
    'Progress',
  ]);
  const T = fieldIds(tasks, [
    'Title',
    'Project',
    'Assignee',
    'Status',
    'Priority',
    'Estimate Hours',
    'Due',
    'Completed',
    'Notes',
    'Labels',
    'Rating',
  ]);
  const H = fieldIds(people, [
    'Name',
    'Email',
    'Role',
    'Phone',
    'Active',
    'Start Date',
    'Tasks',
    'Projects Led',
    'Bio',
  ]);

  // --- Record ids (in record order) and empty cells
  const personIds = PEOPLE.map(() => ids.id('rec'));
  const projectIds = PROJECTS.map(() => ids.id('rec'));
  const taskIds = Array.from({ length: TASK_COUNT }, () => ids.id('rec'));
  const personCells: Cells[] = PEOPLE.map(() => ({}));
  const projectCells: Cells[] = PROJECTS.map(() => ({}));
  const taskCells: Cells[] = taskIds.map(() => ({}));
  const personTasks: string[][] = PEOPLE.map(() => []);
  const personProjects: string[][] = PEOPLE.map(() => []);
  const projectTasks: string[][] = PROJECTS.map(() => []);

  // --- People
  PEOPLE.forEach(([name, role, email], i) => {
    const cells = personCells[i]!;
    put(cells, H.Name, name);
    put(cells, H.Email, email ?? emailFor(name));
    put(cells, H.Role, role);
    if (!PEOPLE_WITHOUT_PHONE.has(i)) {
      put(cells, H.Phone, `(${rng.int(201, 989)}) 555-01${String(rng.int(0, 99)).padStart(2, '0')}`);
    }
    put(cells, H.Active, rng.chance(0.85));
    put(cells, H['Start Date'], addDays('2018-01-08', rng.int(0, daysBetween('2018-01-08', '2026-03-30'))));
    if (rng.chance(0.6)) put(cells, H.Bio, rng.pick(BIOS));
  });

  // --- Projects
  PROJECTS.forEach((row, i) => {
    const [name, status, priority, owner, budget, start, due, tags, description, archived, progress] = row;
    const cells = projectCells[i]!;
    put(cells, P.Name, name);
    put(cells, P.Status, status);
    put(cells, P.Priority, priority);
    if (owner !== null) {
      const ownerIndex = PEOPLE.findIndex(([n]) => n === owner);
      if (ownerIndex < 0) throw new Error(`demo seed: unknown owner ${owner}`);
      put(cells, P.Owner, [personIds[ownerIndex]!]);
      personProjects[ownerIndex]!.push(projectIds[i]!);
    }
    put(cells, P.Budget, budget);
    put(cells, P['Start Date'], start);
    put(cells, P['Due Date'], due);
    put(cells, P.Tags, [...tags]);
    put(cells, P.Description, description);
    put(cells, P.Archived, archived);
    put(cells, P.Progress, progress);
  });

  // --- Tasks
  const freshTitles = rng
    .shuffle(TASK_ACTIONS.flatMap((action) => TASK_OBJECTS.map((object) => `${action} ${object}`)))
    .values();
  const titles: string[] = [];
  for (let i = 0; i < TASK_COUNT; i++) {
    const dup = NEAR_DUPLICATE_TASKS.get(i);
    titles.push(dup ? dup[1](titles[dup[0]]!) : freshTitles.next().value!);
  }
  const statusWeights: readonly (readonly [string, number])[] = [
    ['Todo', 0.35],
    ['In Progress', 0.3],
    ['Blocked', 0.1],
    ['Done', 0.25],
  ];
  const weighted = (): string => {
    let r = rng.next();
    for (const [name, w] of statusWeights) {
      if (r < w) return name;
      r -= w;
    }
    return 'Todo';
  };
  titles.forEach((title, i) => {
    const cells = taskCells[i]!;
    put(cells, T.Title, title);
    if (SPARSE_TASKS.has(i)) return;

    const projectIndex = rng.chance(0.06) ? -1 : rng.int(0, PROJECTS.length - 1);
    const project = PROJECTS[projectIndex];
    if (project) {
      put(cells, T.Project, [projectIds[projectIndex]!]);
      projectTasks[projectIndex]!.push(taskIds[i]!);
    }
    const projectStatus = project?.[1];
    const status =
      projectStatus === 'Done'
        ? 'Done'
        : projectStatus === 'Planning'
          ? rng.pick(['Todo', 'Todo', 'Blocked'])
          : weighted();
    put(cells, T.Status, status);

    const roll = rng.next();
    const assignees = roll < 0.15 ? [] : rng.sample(Array.from(PEOPLE.keys()), roll < 0.85 ? 1 : 2);
    put(
      cells,
      T.Assignee,
      assignees.sort((a, b) => a - b).map((p) => personIds[p]!),
    );
    for (const p of assignees) personTasks[p]!.push(taskIds[i]!);

    const priority = rng.chance(0.1) ? null : rng.pick(['Low', 'Medium', 'Medium', 'High']);
    put(cells, T.Priority, priority);
    if (ZERO_ESTIMATE_TASKS.has(i)) put(cells, T['Estimate Hours'], 0);
    else if (rng.chance(0.85))
      put(cells, T['Estimate Hours'], Math.round((0.5 + rng.next() ** 2 * 23.5) * 10) / 10);

    if (rng.chance(0.85)) {
      const from = project?.[5] ?? '2026-01-15';
      const to = project?.[6] ?? addDays(from, 120);
      put(cells, T.Due, addDays(from, rng.int(0, Math.max(0, daysBetween(from, to)))));
    }
    put(cells, T.Completed, status === 'Done');
    if (rng.chance(0.4)) put(cells, T.Notes, rng.pick(TASK_NOTES));
    const labels = rng.sample(['bug', 'feature', 'chore', 'docs'], rng.pick([0, 1, 1, 1, 2]));
    if (priority === 'High' && rng.chance(0.5)) labels.push('urgent');
    put(cells, T.Labels, labels);
    if (rng.chance(0.4)) put(cells, T.Rating, rng.int(1, 5));
  });

  // --- Inverse links (in record order of the linking side)
  personCells.forEach((cells, i) => {
    put(cells, H.Tasks, personTasks[i]);
    put(cells, H['Projects Led'], personProjects[i]);
  });
  projectCells.forEach((cells, i) => {
    put(cells, P.Tasks, projectTasks[i]);
  });

  const rows = (t: TableDef, recIds: string[], cells: Cells[], times: string[]): RecordRow[] =>
    recIds.map((id, i) => ({ id, createdTime: times[i]!, fields: ordered(t, cells[i]!) }));
  const taskTimes = timeline(rng, '2026-01-12T09:00:00.000Z', TASK_COUNT, 5, 180);
  const records: Record<string, RecordRow[]> = {
    [projects.id]: rows(
      projects,
      projectIds,
      projectCells,
      timeline(rng, '2026-01-05T10:15:00.000Z', PROJECTS.length, 20, 600),
    ),
    [tasks.id]: rows(tasks, taskIds, taskCells, taskTimes),
    [people.id]: rows(
      people,
      personIds,
      personCells,
      timeline(rng, '2026-01-02T08:30:00.000Z', PEOPLE.length, 2, 90),
    ),
  };

  // --- Comments on a handful of tasks
  // The token owner (whoami) wrote the seeded comments, as in a real base the user created.
  const author = { ...SANDBOX_USER };
  const after = (taskIndex: number, minutes: number): string =>
    new Date(Date.parse(taskTimes[taskIndex]!) + minutes * 60_000).toISOString();
  const comment = (
    taskIndex: number,
    text: string,
    minutes: number,
    extra: Partial<CommentRow> = {},
  ): CommentRow => ({
    id: ids.id('com'),
    recordId: taskIds[taskIndex]!,
    author: { ...author },
    text,
    createdTime: after(taskIndex, minutes),
    lastUpdatedTime: null,
    ...extra,
  });
  const first = comment(2, 'Can we split this into two smaller tasks?', 45);
  const comments: CommentRow[] = [
    comment(0, 'Started on this today.', 30),
    first,
    comment(2, 'Agreed — I will create the second one.', 95, { parentCommentId: first.id }),
    comment(5, 'Blocked until the staging database is refreshed.', 1440, { lastUpdatedTime: after(5, 1500) }),
    comment(11, 'Customer asked for this again, "ASAP".', 200),
    comment(30, 'Reviewed, looks good to me 👍', 2880),
    comment(64, 'Moved the due date, see the notes.', 60),
  ];

  return {
    base: {
      id: DEMO_BASE_ID,
      name: 'Sandbox Demo',
      permissionLevel: 'create',
      tables: [projects, tasks, people],
    },
    records,
    comments,
  };
}

// ---------------------------------------------------------------------------------------------------
// Sandbox Archive
// ---------------------------------------------------------------------------------------------------

function buildArchive(ids: IdSource, rng: Rng): SeedBase {
  const projects = table(
    ids.id('tbl'),
    'Projects',
    'Archived copy of the project list, used as a sync target.',
    [
      field(ids, 'Name', 'singleLineText', 'Project name.'),
      field(ids, 'Status', 'singleSelect', undefined, selectOptions(ids, PROJECT_STATUS_CHOICES)),
      field(ids, 'Priority', 'singleSelect', undefined, selectOptions(ids, PROJECT_PRIORITY_CHOICES)),
      field(ids, 'Budget', 'currency', 'Approved budget in US dollars.', { precision: 2, symbol: '$' }),
      field(ids, 'Start Date', 'date', undefined, { ...ISO_DATE }),
      field(ids, 'Due Date', 'date', undefined, { ...ISO_DATE }),
      field(ids, 'Tags', 'multipleSelects', undefined, selectOptions(ids, PROJECT_TAG_CHOICES)),
      field(ids, 'Description', 'multilineText'),
      field(ids, 'Archived', 'checkbox', undefined, { icon: 'check', color: 'grayBright' }),
      field(ids, 'Progress', 'percent', undefined, { precision: 0 }),
    ],
    [view(ids, 'Grid view', 'grid')],
  );
  const log = table(
    ids.id('tbl'),
    'Log',
    'What the sync jobs did.',
    [
      field(ids, 'Name', 'singleLineText', 'Event summary.'),
      field(ids, 'When', 'dateTime', 'When it happened (UTC).', { ...UTC_DATETIME }),
      field(ids, 'Level', 'singleSelect', undefined, selectOptions(ids, LOG_LEVEL_CHOICES)),
    ],
    [view(ids, 'Grid view', 'grid')],
  );

  const A = fieldIds(projects, [
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
  ]);
  const projectCells = (row: ProjectRow, status: string, budget: number | null): Cells => {
    const [name, , priority, , , start, due, tags, description, archived, progress] = row;
    const cells: Cells = {};
    put(cells, A.Name, name);
    put(cells, A.Status, status);
    put(cells, A.Priority, priority);
    put(cells, A.Budget, budget);
    put(cells, A['Start Date'], start);
    put(cells, A['Due Date'], due);
    put(cells, A.Tags, [...tags]);
    put(cells, A.Description, description);
    put(cells, A.Archived, archived);
    put(cells, A.Progress, progress);
    return cells;
  };
  const demoProject = (name: string): ProjectRow => {
    const row = PROJECTS.find(([n]) => n === name);
    if (!row) throw new Error(`demo seed: unknown project ${name}`);
    return row;
  };
  const cells: Cells[] = [
    ...ARCHIVE_IDENTICAL.map((name) => {
      const row = demoProject(name);
      return projectCells(row, row[1], row[4]);
    }),
    ...ARCHIVE_CHANGED.map(([name, status, budget]) => projectCells(demoProject(name), status, budget)),
    ...ARCHIVE_ONLY_PROJECTS.map((row) => projectCells(row, row[1], row[4])),
  ];
  // Interleave so archive-only rows are not all at the end.
  const order = [0, 5, 10, 1, 6, 2, 11, 7, 3, 12, 8, 4, 13, 9, 14];
  const projectTimes = timeline(rng, '2026-01-02T07:00:00.000Z', order.length, 1, 30);
  const projectRows: RecordRow[] = order.map((k, i) => ({
    id: ids.id('rec'),
    createdTime: projectTimes[i]!,
    fields: ordered(projects, cells[k]!),
  }));

  const L = fieldIds(log, ['Name', 'When', 'Level']);
  const logRows: RecordRow[] = LOG_ENTRIES.map(([name, when, level]) => {
    const c: Cells = {};
    put(c, L.Name, name);
    put(c, L.When, when);
    put(c, L.Level, level);
    return {
      id: ids.id('rec'),
      createdTime: new Date(Date.parse(when) + rng.int(1, 999)).toISOString(),
      fields: c,
    };
  });

  return {
    base: { id: ARCHIVE_BASE_ID, name: 'Sandbox Archive', permissionLevel: 'edit', tables: [projects, log] },
    records: { [projects.id]: projectRows, [log.id]: logRows },
  };
}

// ---------------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------------

/** Deterministic: the same call always returns identical data (seeded PRNG, fixed timestamps). Fresh objects each call. */
export function demoSeed(): SeedBase[] {
  const ids = new IdSource(0x5eed_d3e0);
  const rng = new Rng(0x2026_0101);
  const demo = buildDemo(ids, rng);
  const archive = buildArchive(ids, rng);
  return [demo, archive];
}

/** One base "Sandbox" with one table "Table 1" (Name, Notes), one grid view and no records. */
export function emptySeed(): SeedBase[] {
  const ids = new IdSource(0x0e3b_7e01);
  const t = table(
    ids.id('tbl'),
    'Table 1',
    undefined,
    [field(ids, 'Name', 'singleLineText'), field(ids, 'Notes', 'multilineText')],
    [view(ids, 'Grid view', 'grid')],
  );
  return [
    {
      base: { id: EMPTY_BASE_ID, name: 'Sandbox', permissionLevel: 'create', tables: [t] },
      records: { [t.id]: [] },
    },
  ];
}
