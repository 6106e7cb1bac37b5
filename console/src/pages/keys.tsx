import { useState } from 'preact/hooks';
import { send, session } from '../api';
import { loadBases, SCOPES } from '../bases';
import {
  Button,
  CheckList,
  ErrorNote,
  Field,
  formatDate,
  Loading,
  listOf,
  ScrollBox,
  Section,
  useAction,
  useLoad,
} from '../ui';

interface Key {
  id: string;
  name: string;
  scopes: string[];
  bases?: '*' | string[] | null;
  prefix?: string;
  created_at?: string;
  last_used_at?: string | null;
  expires_at?: string | null;
  revoked_at?: string | null;
}

/** The secret in a create answer, whichever name the platform gives it. */
function secretOf(answer: Record<string, unknown>): string {
  for (const name of ['key', 'api_key', 'token', 'secret'])
    if (typeof answer[name] === 'string') return answer[name] as string;
  const nested = answer.key as Record<string, unknown> | undefined;
  return typeof nested?.secret === 'string' ? nested.secret : '';
}

export function KeysPage() {
  const keys = useLoad((signal) =>
    send<unknown>('GET', '/keys', undefined, { signal }).then((a) => listOf<Key>(a, 'keys')),
  );
  const bases = useLoad(loadBases);
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<string[]>(['tools:read']);
  const [chosenBases, setChosenBases] = useState<string[]>([]);
  const [expires, setExpires] = useState('');
  const [created, setCreated] = useState<{ name: string; secret: string }>();
  const [copied, setCopied] = useState('');
  const create = useAction(async () => {
    const answer = await send<Record<string, unknown>>('POST', '/keys', {
      name,
      scopes,
      ...(chosenBases.length ? { bases: chosenBases } : {}),
      ...(expires ? { expires_at: new Date(`${expires}T23:59:59Z`).toISOString() } : {}),
    });
    setCreated({ name, secret: secretOf(answer) });
    setCopied('');
    setName('');
    keys.reload();
  });
  const revoke = useAction(async (key: Key) => {
    await send('DELETE', `/keys/${encodeURIComponent(key.id)}`);
    keys.reload();
  });

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(created!.secret);
      setCopied('Copied to the clipboard.');
    } catch {
      setCopied('Copying is not allowed here: select the key and copy it yourself.');
    }
  };

  const active = (keys.data ?? []).filter((k) => !k.revoked_at);
  // A key cannot have scopes its owner lacks (the API answers 403); only admins hold 'admin'.
  const offered = SCOPES.filter((s) => s.value !== 'admin' || session.user?.role === 'admin');
  return (
    <div class="stack">
      <Section title="Create a key">
        <form
          class="stack"
          onSubmit={(e) => {
            e.preventDefault();
            void create.run();
          }}
        >
          <Field
            label="Name"
            required
            value={name}
            onValue={setName}
            hint="What the key is for, e.g. “Claude desktop”."
          />
          <CheckList legend="Scopes" items={offered} chosen={scopes} onChange={setScopes} />
          {bases.loading ? (
            <Loading label="Loading bases…" />
          ) : (
            <CheckList
              legend="Bases (none ticked: every base you may use)"
              items={(bases.data ?? []).map((b) => ({ value: b.id, label: `${b.name} (${b.id})` }))}
              chosen={chosenBases}
              onChange={setChosenBases}
            />
          )}
          <ErrorNote error={bases.error} />
          <Field label="Expires (optional)" type="date" value={expires} onValue={setExpires} />
          <ErrorNote error={create.error} />
          <Button type="submit" busy={create.busy} disabled={!name.trim() || scopes.length === 0}>
            Create key
          </Button>
        </form>
        {created && (
          <div class="once" role="status">
            <p>
              <strong>Key “{created.name}” created.</strong> It is shown only once: copy it now.
            </p>
            <label for="new-key" class="sr-only">
              The new key
            </label>
            <input
              id="new-key"
              class="mono"
              readOnly
              value={created.secret}
              onFocus={(e) => (e.currentTarget as HTMLInputElement).select()}
            />
            <div class="row">
              <Button kind="secondary" onClick={() => void copy()}>
                Copy
              </Button>
              <Button kind="secondary" onClick={() => setCreated(undefined)}>
                Done
              </Button>
            </div>
            <p class="muted" aria-live="polite">
              {copied}
            </p>
          </div>
        )}
      </Section>
      <Section title="Your keys">
        {keys.loading && !keys.data ? <Loading /> : null}
        <ErrorNote error={keys.error} />
        <ErrorNote error={revoke.error} />
        {keys.data && active.length === 0 && <p class="muted">No keys yet.</p>}
        {active.length > 0 && (
          <ScrollBox label={'Your keys'}>
            <table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Scopes</th>
                  <th scope="col">Bases</th>
                  <th scope="col">Created</th>
                  <th scope="col">Last used</th>
                  <th scope="col">Expires</th>
                  <th scope="col">
                    <span class="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {active.map((k) => (
                  <tr key={k.id}>
                    <th scope="row">
                      {k.name} {k.prefix && <small class="mono">{k.prefix}…</small>}
                    </th>
                    <td>{k.scopes.join(', ')}</td>
                    <td>{!k.bases || k.bases === '*' ? 'all' : k.bases.join(', ')}</td>
                    <td>{formatDate(k.created_at)}</td>
                    <td>{formatDate(k.last_used_at)}</td>
                    <td>{formatDate(k.expires_at)}</td>
                    <td>
                      <Button
                        kind="danger"
                        busy={revoke.busy}
                        aria-label={`Revoke ${k.name}`}
                        onClick={() => {
                          if (confirm(`Revoke the key “${k.name}”? Programs using it stop working.`))
                            void revoke.run(k);
                        }}
                      >
                        Revoke
                      </Button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </ScrollBox>
        )}
      </Section>
    </div>
  );
}
