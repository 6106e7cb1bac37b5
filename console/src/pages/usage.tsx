import { useMemo, useState } from 'preact/hooks';
import { get, session } from '../api';
import { LineChart, type Series, shortNumber } from '../chart';
import { ErrorNote, Field, formatUsd, Loading, listOf, ScrollBox, Section, useLoad } from '../ui';

type Row = Record<string, unknown>;

const n = (row: Row, ...keys: string[]) => {
  for (const key of keys) if (typeof row[key] === 'number') return row[key] as number;
  return 0;
};
const keyOf = (row: Row, ...keys: string[]) => {
  for (const key of keys) if (row[key] !== undefined && row[key] !== null) return String(row[key]);
  return '—';
};

/** A latency; the API answers null when the period has no calls. */
const ms = (value: unknown) => (typeof value === 'number' ? `${Math.round(value)} ms` : '—');

function isoDay(offsetDays: number): string {
  return new Date(Date.now() + offsetDays * 86_400_000).toISOString().slice(0, 10);
}

/** Every day of the period, so days without calls show as zero instead of being skipped. */
function daysBetween(from: string, to: string): string[] {
  const days: string[] = [];
  for (let t = Date.parse(from); t <= Date.parse(to) && days.length < 400; t += 86_400_000)
    days.push(new Date(t).toISOString().slice(0, 10));
  return days;
}

export function UsagePage() {
  const [from, setFrom] = useState(isoDay(-13));
  const [to, setTo] = useState(isoDay(0));
  const period = `from=${encodeURIComponent(`${from}T00:00:00.000Z`)}&to=${encodeURIComponent(`${to}T23:59:59.999Z`)}`;
  const admin = session.user?.role === 'admin';
  const byDay = useLoad((s) => get<unknown>(`/analytics/usage?${period}&group_by=day`, s), [period]);
  const byTool = useLoad((s) => get<unknown>(`/analytics/usage?${period}&group_by=tool`, s), [period]);
  const byUser = useLoad(
    (s) => (admin ? get<unknown>(`/analytics/usage?${period}&group_by=user`, s) : Promise.resolve([])),
    [period],
  );
  const metrics = useLoad((s) => get<Row>(`/analytics/metrics?${period}`, s), [period]);

  const chart = useMemo(() => {
    const rows = listOf<Row>(byDay.data, 'usage', 'groups', 'rows');
    const days = daysBetween(from, to);
    const at = new Map(rows.map((r) => [keyOf(r, 'day', 'date', 'key', 'group').slice(0, 10), r]));
    const pick = (...keys: string[]) => days.map((d) => (at.has(d) ? n(at.get(d)!, ...keys) : 0));
    const calls: Series[] = [
      { label: 'Calls', values: pick('calls', 'count', 'total'), color: '#2563eb' },
      { label: 'Errors', values: pick('errors', 'error_count'), color: '#dc2626' },
      { label: 'Airtable requests', values: pick('airtable_requests'), color: '#059669' },
    ];
    const tokens: Series[] = [
      { label: 'Input tokens', values: pick('input_tokens'), color: '#7c3aed' },
      { label: 'Output tokens', values: pick('output_tokens'), color: '#d97706' },
    ];
    const cost: Series[] = [{ label: 'Cost (USD)', values: pick('cost_usd', 'cost'), color: '#0f766e' }];
    return { days, calls, tokens, cost };
  }, [byDay.data, from, to]);

  const m = metrics.data ?? {};
  const totals = (m.totals as Row | undefined) ?? m;
  return (
    <div class="stack">
      <form class="row period" onSubmit={(e) => e.preventDefault()} aria-label="Period">
        <Field label="From" type="date" value={from} max={to} onValue={(v: string) => v && setFrom(v)} />
        <Field label="To" type="date" value={to} min={from} onValue={(v: string) => v && setTo(v)} />
      </form>
      <Section title="Totals">
        {metrics.loading && !metrics.data ? <Loading /> : null}
        <ErrorNote error={metrics.error} />
        <dl class="stats">
          <Stat label="Calls" value={n(totals, 'calls', 'total_calls', 'count')} />
          <Stat label="Error rate" value={`${(n(totals, 'error_rate') * 100).toFixed(1)}%`} />
          <Stat label="p50 latency" value={ms(totals.p50_ms)} />
          <Stat label="p95 latency" value={ms(totals.p95_ms)} />
          <Stat label="Airtable requests" value={n(totals, 'airtable_requests')} />
          <Stat
            label="Tokens"
            value={n(totals, 'input_tokens') + n(totals, 'output_tokens') || n(totals, 'tokens')}
          />
          <Stat label="Cost" value={formatUsd(n(totals, 'cost_usd', 'cost'))} />
        </dl>
      </Section>
      <Section title="Per day">
        {byDay.loading && !byDay.data ? <Loading /> : null}
        <ErrorNote error={byDay.error} />
        <LineChart title="Calls, errors and Airtable requests" days={chart.days} series={chart.calls} whole />
        <LineChart title="Tokens" days={chart.days} series={chart.tokens} whole />
        <LineChart title="Cost" days={chart.days} series={chart.cost} format={(v) => `$${shortNumber(v)}`} />
      </Section>
      <Section title="Top tools">
        <GroupTable state={byTool} label="Tool" keys={['tool', 'name', 'key', 'group']} />
      </Section>
      {admin && (
        <Section title="Per user">
          <GroupTable state={byUser} label="User" keys={['email', 'user', 'user_id', 'key', 'group']} />
        </Section>
      )}
    </div>
  );
}

function Stat({ label, value }: { label: string; value: string | number }) {
  return (
    <div class="stat">
      <dt>{label}</dt>
      <dd>{value}</dd>
    </div>
  );
}

function GroupTable({
  state,
  label,
  keys,
}: {
  state: { data?: unknown; loading: boolean; error: unknown };
  label: string;
  keys: string[];
}) {
  const rows = listOf<Row>(state.data, 'usage', 'groups', 'rows').sort(
    (a, b) => n(b, 'calls', 'count') - n(a, 'calls', 'count'),
  );
  if (state.loading && !state.data) return <Loading />;
  if (state.error) return <ErrorNote error={state.error} />;
  if (!rows.length) return <p class="muted">No calls in this period.</p>;
  return (
    <ScrollBox label={`${label} breakdown`}>
      <table>
        <thead>
          <tr>
            <th scope="col">{label}</th>
            <th scope="col">Calls</th>
            <th scope="col">Errors</th>
            <th scope="col">Airtable requests</th>
            <th scope="col">Tokens</th>
            <th scope="col">Cost</th>
          </tr>
        </thead>
        <tbody>
          {rows.slice(0, 20).map((r) => (
            <tr key={keyOf(r, ...keys)}>
              <th scope="row">{keyOf(r, ...keys)}</th>
              <td>{n(r, 'calls', 'count')}</td>
              <td>{n(r, 'errors', 'error_count')}</td>
              <td>{n(r, 'airtable_requests')}</td>
              <td>{n(r, 'input_tokens') + n(r, 'output_tokens')}</td>
              <td>{formatUsd(n(r, 'cost_usd', 'cost'))}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </ScrollBox>
  );
}
