import { useEffect, useState } from 'preact/hooks';
import { download, get, send, session } from '../api';
import { Button, ErrorNote, Field, formatDate, Loading, listOf, Section, useAction, useLoad } from '../ui';

interface Consent {
  purpose: string;
  granted: boolean;
  policy_version?: string;
  updated_at?: string;
  at?: string;
}

/** Purposes the console offers to grant or withdraw; the server's ledger may list more. */
const PURPOSES = [
  { purpose: 'analytics', label: 'Usage analytics (charts of your own usage)' },
  { purpose: 'chat_history', label: 'Keep my chat history' },
];
const POLICY_VERSION = '1';

export function PrivacyPage() {
  const consent = useLoad((s) => get<Record<string, unknown>>('/gdpr/consent', s));
  const current = new Map<string, Consent>();
  const state = consent.data ?? {};
  for (const c of listOf<Consent>(state.current ?? state.consents ?? state, 'current', 'consents'))
    current.set(c.purpose, c);
  if (state.current && !Array.isArray(state.current) && typeof state.current === 'object') {
    for (const [purpose, value] of Object.entries(state.current as Record<string, unknown>)) {
      const v = value as Partial<Consent> | boolean;
      current.set(
        purpose,
        typeof v === 'boolean' ? { purpose, granted: v } : { purpose, granted: Boolean(v.granted), ...v },
      );
    }
  }
  const purposes = [
    ...PURPOSES,
    ...[...current.keys()]
      .filter((p) => !PURPOSES.some((x) => x.purpose === p))
      .map((p) => ({ purpose: p, label: p })),
  ];

  // The box shows the choice at once; the ledger, reloaded, confirms it (or the error puts it back).
  const [choosing, setChoosing] = useState<Record<string, boolean>>({});
  useEffect(() => setChoosing({}), [consent.data]);
  const change = useAction(async (purpose: string, granted: boolean) => {
    setChoosing((c) => ({ ...c, [purpose]: granted }));
    try {
      await send('PUT', '/gdpr/consent', { purpose, granted, policy_version: POLICY_VERSION });
    } catch (error) {
      setChoosing({});
      throw error;
    }
    consent.reload();
  });
  const exporting = useAction(async () => {
    const data = await send<unknown>('POST', '/gdpr/export', {});
    download(
      `airtable-mcp-kit-export-${new Date().toISOString().slice(0, 10)}.json`,
      JSON.stringify(data, null, 2),
    );
    return true;
  });
  const [exported, setExported] = useState(false);

  return (
    <div class="stack">
      <Section title="Consents">
        {consent.loading && !consent.data ? <Loading /> : null}
        <ErrorNote error={consent.error} />
        <ul class="plain">
          {purposes.map(({ purpose, label }) => {
            const c = current.get(purpose);
            return (
              <li key={purpose} class="consent">
                <label class="check">
                  <input
                    type="checkbox"
                    checked={choosing[purpose] ?? Boolean(c?.granted)}
                    disabled={change.busy}
                    onChange={(e) => void change.run(purpose, (e.currentTarget as HTMLInputElement).checked)}
                  />
                  {label}
                </label>
                {c && (
                  <small class="muted">
                    {' '}
                    {c.granted ? 'granted' : 'withdrawn'} {formatDate(c.updated_at ?? c.at)}
                  </small>
                )}
              </li>
            );
          })}
        </ul>
        <ErrorNote error={change.error} />
      </Section>
      <Section title="Export my data">
        <p>
          A JSON file with everything this server holds about you: profile, consents, keys (without secrets),
          sessions, usage, chats and workflows.
        </p>
        <ErrorNote error={exporting.error} />
        <Button
          busy={exporting.busy}
          onClick={() => void exporting.run().then((ok) => setExported(Boolean(ok)))}
        >
          {exporting.busy ? 'Preparing…' : 'Download my data'}
        </Button>
        <p role="status" class="muted">
          {exported ? 'Your export was downloaded.' : ''}
        </p>
      </Section>
      <DeleteAccount />
    </div>
  );
}

function DeleteAccount() {
  const [password, setPassword] = useState('');
  const [typed, setTyped] = useState('');
  const email = session.user?.email ?? '';
  const erase = useAction(async () => {
    await send('POST', '/gdpr/deletion', { password });
    session.clear();
    location.hash = '#/signin';
  });
  return (
    <Section title="Delete my account">
      <form
        class="stack danger-zone"
        onSubmit={(e) => {
          e.preventDefault();
          void erase.run();
        }}
      >
        <p>
          This removes your account and your data in every module, revokes every key and sign-in, and cannot
          be undone. Download your data first if you want a copy.
        </p>
        <Field
          label="Password"
          type="password"
          autoComplete="current-password"
          value={password}
          onValue={setPassword}
          required
        />
        <Field
          label={`Type your email (${email}) to confirm`}
          autoComplete="off"
          value={typed}
          onValue={setTyped}
          required
        />
        <ErrorNote error={erase.error} />
        <Button type="submit" kind="danger" busy={erase.busy} disabled={!password || typed.trim() !== email}>
          Delete my account
        </Button>
      </form>
    </Section>
  );
}
