import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, get, request, streamEvents } from '../api';
import { loadBases } from '../bases';
import { Button, ErrorNote, formatDate, formatUsd, Loading, listOf, Select, useLoad } from '../ui';
import { applyEvent, applyFinal, type ToolCall, type Turn, turnsFromHistory } from './chat-model';

interface SessionSummary {
  id?: string;
  session_id?: string;
  title?: string | null;
  base_id?: string | null;
  created_at?: string;
  updated_at?: string;
  message_count?: number;
}

const sessionId = (s: SessionSummary) => s.session_id ?? s.id ?? '';

/**
 * Whether this server can chat: GET /api/models says `configured` (a Gemini
 * key is set); a 404 means the orchestrator module is not running at all.
 */
async function chatAvailability(signal: AbortSignal): Promise<string | undefined> {
  try {
    const models = await get<{ configured?: boolean }>('/models', signal);
    return models.configured === false
      ? 'The chat is not configured on this server: it needs a Gemini API key (GEMINI_API_KEY). Ask whoever runs it to set one and restart.'
      : undefined;
  } catch (caught) {
    if (caught instanceof ApiError && caught.status === 404)
      return 'The chat is not available on this server (its orchestrator module is not running).';
    throw caught;
  }
}

export function ChatPage() {
  const availability = useLoad(chatAvailability);
  const unavailable = availability.data;
  const bases = useLoad(loadBases);
  const sessions = useLoad((signal) =>
    get<unknown>('/sessions', signal).then((a) => listOf<SessionSummary>(a, 'sessions')),
  );
  const [baseId, setBaseId] = useState('');
  const [session, setSession] = useState<string>();
  const [turns, setTurns] = useState<Turn[]>([]);
  const [message, setMessage] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [announce, setAnnounce] = useState('');
  const log = useRef<HTMLDivElement>(null);
  const nextId = useRef(1);

  useEffect(() => {
    if (!baseId && bases.data?.[0]) setBaseId(bases.data[0].id);
  }, [bases.data]);

  // Follow the answer as it streams, unless the person scrolled up to read.
  useEffect(() => {
    const el = log.current;
    if (el && el.scrollHeight - el.scrollTop - el.clientHeight < 120) el.scrollTop = el.scrollHeight;
  }, [turns]);

  const updateLast = (fn: (turn: Turn) => Turn) =>
    setTurns((list) => (list.length ? [...list.slice(0, -1), fn(list[list.length - 1]!)] : list));

  /** Read a chat answer (stream or JSON) into the last assistant turn. */
  const consume = async (response: Response) => {
    if ((response.headers.get('content-type') ?? '').includes('text/event-stream')) {
      await streamEvents(response, ({ event, data }) => {
        if (data && typeof data === 'object' && 'session_id' in data)
          setSession(String((data as { session_id: unknown }).session_id));
        updateLast((turn) => applyEvent(turn, event, data));
      });
      updateLast((turn) => (turn.status === 'streaming' ? { ...turn, status: 'done' } : turn));
    } else {
      const body = (await response.json()) as Record<string, unknown>;
      if (typeof body.session_id === 'string') setSession(body.session_id);
      updateLast((turn) => applyFinal(turn, body));
    }
    setAnnounce('Answer complete');
    sessions.reload();
  };

  const run = async (start: () => Promise<Response>) => {
    setBusy(true);
    setError(undefined);
    setAnnounce('');
    try {
      await consume(await start());
    } catch (caught) {
      const text =
        caught instanceof ApiError && caught.status === 503
          ? `Chat is not available on this server: ${caught.detail}`
          : caught instanceof Error
            ? caught.message
            : String(caught);
      updateLast((turn) => ({ ...turn, status: 'error', error: text }));
    } finally {
      setBusy(false);
    }
  };

  const ask = async (event: Event) => {
    event.preventDefault();
    const text = message.trim();
    if (!text || busy) return;
    setMessage('');
    setTurns((list) => [
      ...list,
      { id: nextId.current++, role: 'user', text, tools: [] },
      { id: nextId.current++, role: 'assistant', text: '', tools: [], status: 'streaming' },
    ]);
    await run(() =>
      request(
        'POST',
        '/chat',
        {
          message: text,
          stream: true,
          ...(session ? { session_id: session } : {}),
          ...(baseId ? { base_id: baseId } : {}),
        },
        { accept: 'text/event-stream' },
      ),
    );
  };

  const decide = async (call: ToolCall, approve: boolean) => {
    if (!session) return;
    updateLast((turn) => ({
      ...turn,
      status: 'streaming',
      tools: turn.tools.map((t) =>
        t.id === call.id ? { ...t, pending: false, decision: approve ? 'approved' : 'rejected' } : t,
      ),
    }));
    await run(() =>
      request(
        'POST',
        `/sessions/${encodeURIComponent(session)}/approvals`,
        { call_id: call.id, approve, stream: true },
        { accept: 'text/event-stream, application/json' },
      ),
    );
  };

  const open = async (summary: SessionSummary) => {
    const id = sessionId(summary);
    setError(undefined);
    setBusy(true);
    try {
      const history = await get<unknown>(`/sessions/${encodeURIComponent(id)}/history`);
      setTurns(turnsFromHistory(history).map((t) => ({ ...t, id: nextId.current++ })));
      setSession(id);
      if (summary.base_id) setBaseId(summary.base_id);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  const fresh = () => {
    setSession(undefined);
    setTurns([]);
    setError(undefined);
  };

  const baseOptions = (bases.data ?? []).map((b) => ({ value: b.id, label: `${b.name} (${b.id})` }));
  return (
    <div class="chat">
      <aside class="chat-side" aria-label="Sessions">
        <Button kind="secondary" onClick={fresh} disabled={busy}>
          New chat
        </Button>
        <h2 class="small-head">Earlier sessions</h2>
        {sessions.loading && !sessions.data ? <Loading /> : null}
        <ErrorNote error={sessions.error} />
        <ul class="session-list">
          {(sessions.data ?? []).map((s) => (
            <li key={sessionId(s)}>
              <button
                type="button"
                class="link"
                aria-current={sessionId(s) === session ? 'true' : undefined}
                onClick={() => void open(s)}
                disabled={busy}
              >
                {s.title || sessionId(s)}
                <small>{formatDate(s.updated_at ?? s.created_at)}</small>
              </button>
            </li>
          ))}
          {sessions.data?.length === 0 && <li class="muted">None yet</li>}
        </ul>
      </aside>
      <section class="chat-main" aria-label="Conversation">
        <div class="chat-bar">
          {bases.loading ? (
            <Loading label="Loading bases…" />
          ) : (
            <Select label="Base" value={baseId} onValue={setBaseId} options={baseOptions} disabled={busy} />
          )}
          <ErrorNote error={bases.error} />
          {session && <small class="muted">Session {session}</small>}
        </div>
        <div
          class="log"
          ref={log}
          role="log"
          aria-label="Messages"
          aria-busy={busy ? 'true' : 'false'}
          // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard
          tabIndex={0}
        >
          {turns.length === 0 && <p class="muted">Ask about your bases: “Which projects are late?”</p>}
          {turns.map((turn) => (
            <TurnView key={turn.id} turn={turn} onDecide={decide} busy={busy} />
          ))}
        </div>
        <p class="sr-only" role="status" aria-live="polite">
          {announce}
        </p>
        {unavailable && (
          <p class="note" role="status">
            {unavailable}
          </p>
        )}
        <ErrorNote error={error} />
        <form class="composer" onSubmit={ask}>
          <label for="chat-message" class="sr-only">
            Message
          </label>
          <textarea
            id="chat-message"
            rows={2}
            value={message}
            placeholder="Ask something about this base"
            disabled={Boolean(unavailable)}
            onInput={(e) => setMessage((e.currentTarget as HTMLTextAreaElement).value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter' && !e.shiftKey) {
                e.preventDefault();
                void ask(e);
              }
            }}
          />
          <Button type="submit" busy={busy} disabled={!message.trim() || Boolean(unavailable)}>
            Send
          </Button>
        </form>
      </section>
    </div>
  );
}

function TurnView({
  turn,
  onDecide,
  busy,
}: {
  turn: Turn;
  onDecide: (call: ToolCall, approve: boolean) => void;
  busy: boolean;
}) {
  if (turn.role === 'user') {
    return (
      <article class="msg msg-user" aria-label="You">
        <p>{turn.text}</p>
      </article>
    );
  }
  return (
    <article class="msg msg-assistant" aria-label="Assistant">
      {turn.tools.map((call) => (
        <ToolCallView key={call.id} call={call} onDecide={onDecide} busy={busy} />
      ))}
      <div class="msg-text">
        {turn.text || (turn.status === 'streaming' ? <span class="cursor" aria-hidden="true" /> : null)}
      </div>
      {turn.error && (
        <p class="error" role="alert">
          {turn.error}
        </p>
      )}
      {/* Always rendered (reserved height), so the footer appearing does not shift the log. */}
      <footer class="turn-meta">
        {turn.status === 'streaming'
          ? 'Answering…'
          : turn.inputTokens !== undefined || turn.costUsd !== undefined
            ? `${turn.inputTokens ?? 0} in · ${turn.outputTokens ?? 0} out tokens · ${formatUsd(turn.costUsd)} (estimate)${turn.model ? ` · ${turn.model}` : ''}`
            : '\u00a0'}
      </footer>
    </article>
  );
}

function ToolCallView({
  call,
  onDecide,
  busy,
}: {
  call: ToolCall;
  onDecide: (call: ToolCall, approve: boolean) => void;
  busy: boolean;
}) {
  const state = call.pending
    ? 'waiting for approval'
    : call.decision === 'rejected'
      ? 'rejected'
      : call.ok === false
        ? 'failed'
        : call.ok === true || call.result !== undefined
          ? 'done'
          : call.decision === 'approved'
            ? 'approved'
            : 'running';
  return (
    <div class={`tool tool-${state.replace(/ /g, '-')}`}>
      <details open={call.pending}>
        <summary>
          <span class="tool-name">{call.name}</span> <span class="badge">{state}</span>
          {call.durationMs !== undefined && <small> {call.durationMs} ms</small>}
        </summary>
        {call.change && <p>{call.change}</p>}
        <h3 class="small-head">Arguments</h3>
        <pre>{JSON.stringify(call.arguments, null, 2)}</pre>
        {call.result !== undefined && (
          <>
            <h3 class="small-head">Result</h3>
            <pre>{typeof call.result === 'string' ? call.result : JSON.stringify(call.result, null, 2)}</pre>
          </>
        )}
      </details>
      {call.pending && (
        <fieldset class="approve">
          <legend class="sr-only">Approve {call.name}?</legend>
          <Button onClick={() => onDecide(call, true)} disabled={busy}>
            Approve {call.name}
          </Button>
          <Button kind="secondary" onClick={() => onDecide(call, false)} disabled={busy}>
            Reject
          </Button>
        </fieldset>
      )}
    </div>
  );
}
