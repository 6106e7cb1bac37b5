import { useEffect, useState } from 'preact/hooks';
import { get, send } from '../api';
import {
  Button,
  ErrorNote,
  formatDate,
  Loading,
  listOf,
  ScrollBox,
  Section,
  useAction,
  useId,
  useLoad,
} from '../ui';

interface Trigger {
  type: string;
  cron?: string;
  timezone?: string;
}

/** GET /api/workflows' items (src/saga/service.ts workflowView). */
interface Workflow {
  id: string;
  name: string;
  description?: string | null;
  status?: 'active' | 'paused' | 'inactive';
  triggers?: Trigger[];
  steps?: unknown[];
  cron_expression?: string | null;
  timezone?: string | null;
  /** The next scheduled run; null unless active with a cron trigger. */
  next_run_at?: string | null;
}

interface Step {
  name: string;
  type?: string;
  status: string;
  attempts?: number;
  started_at?: string | null;
  finished_at?: string | null;
  duration_ms?: number | null;
  error?: string | null;
  result?: unknown;
  output?: unknown;
  compensation?: { status?: string; error?: string | null; finished_at?: string | null } | string | null;
  compensation_status?: string | null;
}

interface Run {
  id: string;
  workflow_id?: string;
  status: string;
  started_at?: string | null;
  created_at?: string | null;
  finished_at?: string | null;
  error?: string | null;
  steps?: Step[];
  needs_attention?: unknown;
}

const ACTIVE = ['pending', 'running', 'compensating'];
const triggersOf = (w: Workflow): Trigger[] => (w.triggers?.length ? w.triggers : [{ type: 'manual' }]);

export function WorkflowsPage() {
  const workflows = useLoad((s) =>
    get<unknown>('/workflows', s).then((a) => listOf<Workflow>(a, 'workflows')),
  );
  const [openId, setOpenId] = useState<string>();
  return (
    <div class="stack">
      <Section title="Workflows">
        {workflows.loading && !workflows.data ? <Loading /> : null}
        <ErrorNote error={workflows.error} />
        {workflows.data?.length === 0 && (
          <p class="muted">No workflows yet. Create them through POST /api/workflows.</p>
        )}
        <ul class="cards">
          {(workflows.data ?? []).map((w) => (
            <li key={w.id}>
              <WorkflowCard
                workflow={w}
                open={openId === w.id}
                onToggle={() => setOpenId(openId === w.id ? undefined : w.id)}
              />
            </li>
          ))}
        </ul>
      </Section>
    </div>
  );
}

function WorkflowCard({
  workflow,
  open,
  onToggle,
}: {
  workflow: Workflow;
  open: boolean;
  onToggle: () => void;
}) {
  const inputId = useId('wf-input');
  const [input, setInput] = useState('');
  const [selected, setSelected] = useState<string>();
  const runs = useLoad(
    (s) =>
      open
        ? get<unknown>(`/workflows/${encodeURIComponent(workflow.id)}/runs`, s).then((a) =>
            listOf<Run>(a, 'runs'),
          )
        : Promise.resolve([]),
    [open],
  );
  const fireTimes = useFireTimes(workflow, open);
  const trigger = useAction(async () => {
    let parsed: unknown = {};
    if (input.trim()) {
      try {
        parsed = JSON.parse(input);
      } catch {
        throw new Error('The input is not valid JSON.');
      }
      // The API takes an object of named values (a run's {{input.…}}), not a list or a single value.
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
        throw new Error('The input must be a JSON object, like {"name": "value"}.');
    }
    const answer = await send<{ run?: Run; id?: string }>(
      'POST',
      `/workflows/${encodeURIComponent(workflow.id)}/trigger`,
      { input: parsed },
    );
    const run = answer.run ?? (answer as Run);
    setSelected(run.id);
    runs.reload();
  });
  const triggers = triggersOf(workflow);
  return (
    <article class="card inner" aria-label={workflow.name}>
      <header class="card-head">
        <h3>{workflow.name}</h3>
        <Button kind="secondary" aria-expanded={open ? 'true' : 'false'} onClick={onToggle}>
          {open ? 'Hide' : 'Open'}
        </Button>
      </header>
      {workflow.description && <p>{workflow.description}</p>}
      <p class="muted">
        Triggers:{' '}
        {triggers
          .map((t) => (t.cron ? `cron ${t.cron}${t.timezone ? ` (${t.timezone})` : ''}` : t.type))
          .join(', ')}
        {workflow.steps ? ` · ${workflow.steps.length} steps` : ''}
        {workflow.status && workflow.status !== 'active' ? ` · ${workflow.status}` : ''}
      </p>
      {open && (
        <div class="stack">
          {fireTimes.data && fireTimes.data.length > 0 && (
            <div>
              <h4 class="small-head">Next fire times</h4>
              <ol class="plain">
                {fireTimes.data.map((t) => (
                  <li key={t}>{formatDate(t)}</li>
                ))}
              </ol>
            </div>
          )}
          <ErrorNote error={fireTimes.error} />
          <form
            class="stack"
            onSubmit={(e) => {
              e.preventDefault();
              void trigger.run();
            }}
          >
            <label for={inputId}>Input (JSON, optional)</label>
            <textarea
              id={inputId}
              rows={3}
              class="mono"
              value={input}
              onInput={(e) => setInput((e.currentTarget as HTMLTextAreaElement).value)}
            />
            <ErrorNote error={trigger.error} />
            <Button type="submit" busy={trigger.busy}>
              Run {workflow.name}
            </Button>
          </form>
          <h4 class="small-head">Runs</h4>
          {runs.loading && !runs.data ? <Loading /> : null}
          <ErrorNote error={runs.error} />
          {runs.data?.length === 0 && <p class="muted">Not run yet.</p>}
          <ul class="plain runs">
            {(runs.data ?? []).map((r) => (
              <li key={r.id}>
                <button
                  type="button"
                  class="link"
                  aria-expanded={selected === r.id ? 'true' : 'false'}
                  onClick={() => setSelected(selected === r.id ? undefined : r.id)}
                >
                  <span class={`badge status-${r.status}`}>{r.status}</span>{' '}
                  {formatDate(r.started_at ?? r.created_at)} <small class="mono">{r.id}</small>
                </button>
                {selected === r.id && <RunView id={r.id} onSettled={runs.reload} />}
              </li>
            ))}
          </ul>
        </div>
      )}
    </article>
  );
}

/**
 * The next five fire times of an active scheduled workflow: the API keeps
 * only the next one (next_run_at), /workflows/validate computes the rest.
 */
function useFireTimes(workflow: Workflow, open: boolean) {
  return useLoad(
    async (signal) => {
      if (!open || !workflow.cron_expression || !workflow.next_run_at) return [];
      const answer = await send<{ next_runs?: string[] }>(
        'POST',
        '/workflows/validate',
        {
          cron_expression: workflow.cron_expression,
          ...(workflow.timezone ? { timezone: workflow.timezone } : {}),
        },
        { signal },
      );
      return answer.next_runs?.length ? answer.next_runs : [workflow.next_run_at];
    },
    [open],
  );
}

/** One run's steps, polled while it is still moving. */
function RunView({ id, onSettled }: { id: string; onSettled: () => void }) {
  const run = useLoad((s) =>
    get<Run>(`/runs/${encodeURIComponent(id)}`, s).then((a) => (a as { run?: Run }).run ?? a),
  );
  const status = run.data?.status;
  useEffect(() => {
    if (!status) return;
    if (!ACTIVE.includes(status)) return void onSettled();
    const timer = setTimeout(run.reload, 1000);
    return () => clearTimeout(timer);
  }, [run.data]);
  const cancel = useAction(async () => {
    await send('POST', `/runs/${encodeURIComponent(id)}/cancel`, {});
    run.reload();
  });
  if (!run.data) return run.error ? <ErrorNote error={run.error} /> : <Loading label="Loading the run…" />;
  const r = run.data;
  return (
    <div class="run" aria-live="polite">
      <p>
        Status <span class={`badge status-${r.status}`}>{r.status}</span>
        {r.finished_at && ` · finished ${formatDate(r.finished_at)}`}
      </p>
      {r.error && <p class="error">{r.error}</p>}
      <ScrollBox label={`Steps of run ${r.id}`}>
        <table>
          <caption class="sr-only">Steps of run {r.id}</caption>
          <thead>
            <tr>
              <th scope="col">Step</th>
              <th scope="col">Status</th>
              <th scope="col">Time</th>
              <th scope="col">Compensation</th>
              <th scope="col">Result or error</th>
            </tr>
          </thead>
          <tbody>
            {(r.steps ?? []).map((step, i) => {
              const comp =
                typeof step.compensation === 'string'
                  ? step.compensation
                  : (step.compensation?.status ?? step.compensation_status);
              const result = step.error ?? step.result ?? step.output;
              return (
                <tr key={`${step.name}-${i}`}>
                  <th scope="row">
                    {step.name} {step.type && <small class="muted">{step.type}</small>}
                  </th>
                  <td>
                    <span class={`badge status-${step.status}`}>{step.status}</span>
                  </td>
                  <td>{step.duration_ms != null ? `${step.duration_ms} ms` : formatDate(step.started_at)}</td>
                  <td>{comp ?? '—'}</td>
                  <td>
                    <code class="clip">
                      {result === undefined || result === null
                        ? ''
                        : typeof result === 'string'
                          ? result
                          : JSON.stringify(result)}
                    </code>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </ScrollBox>
      {ACTIVE.includes(r.status) && (
        <>
          <ErrorNote error={cancel.error} />
          <Button kind="danger" busy={cancel.busy} onClick={() => void cancel.run()}>
            Cancel run (compensates)
          </Button>
        </>
      )}
    </div>
  );
}
