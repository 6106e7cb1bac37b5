import { useState } from 'preact/hooks';
import { get, send, session } from '../api';
import { loadBases } from '../bases';
import {
  Button,
  CheckList,
  ErrorNote,
  formatDate,
  Loading,
  listOf,
  ScrollBox,
  Section,
  Select,
  useAction,
  useLoad,
} from '../ui';

interface AdminUser {
  id: string;
  email: string;
  first_name?: string | null;
  last_name?: string | null;
  role: 'admin' | 'member';
  disabled?: boolean;
  disabled_at?: string | null;
  allowed_bases?: '*' | string[] | null;
  created_at?: string;
}

const isDisabled = (u: AdminUser) => Boolean(u.disabled ?? u.disabled_at);

export function AdminPage() {
  const users = useLoad((s) => get<unknown>('/users', s).then((a) => listOf<AdminUser>(a, 'users')));
  const bases = useLoad(loadBases);
  const [editing, setEditing] = useState<string>();
  const update = useAction(async (user: AdminUser, patch: Record<string, unknown>) => {
    await send('PATCH', `/users/${encodeURIComponent(user.id)}`, patch);
    users.reload();
  });
  return (
    <Section title="Users">
      {users.loading && !users.data ? <Loading /> : null}
      <ErrorNote error={users.error} />
      <ErrorNote error={update.error} />
      <ScrollBox label={'Users'}>
        <table>
          <thead>
            <tr>
              <th scope="col">Email</th>
              <th scope="col">Role</th>
              <th scope="col">Bases</th>
              <th scope="col">State</th>
              <th scope="col">Created</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {(users.data ?? []).map((u) => {
              const self = u.id === session.user?.id;
              return (
                <tr key={u.id}>
                  <th scope="row">{u.email}</th>
                  <td>
                    <Select
                      label={`Role of ${u.email}`}
                      hideLabel
                      value={u.role}
                      disabled={self || update.busy}
                      onValue={(role) => void update.run(u, { role })}
                      options={[
                        { value: 'member', label: 'member' },
                        { value: 'admin', label: 'admin' },
                      ]}
                    />
                  </td>
                  <td>
                    {!u.allowed_bases || u.allowed_bases === '*'
                      ? 'all'
                      : u.allowed_bases.join(', ') || 'none'}{' '}
                    <Button
                      kind="secondary"
                      aria-expanded={editing === u.id ? 'true' : 'false'}
                      onClick={() => setEditing(editing === u.id ? undefined : u.id)}
                    >
                      Edit bases
                    </Button>
                    {editing === u.id && (
                      <BaseEditor
                        user={u}
                        bases={(bases.data ?? []).map((b) => ({ value: b.id, label: `${b.name} (${b.id})` }))}
                        busy={update.busy}
                        onSave={(allowed) =>
                          void update.run(u, { allowed_bases: allowed }).then(() => setEditing(undefined))
                        }
                      />
                    )}
                  </td>
                  <td>{isDisabled(u) ? 'disabled' : 'active'}</td>
                  <td>{formatDate(u.created_at)}</td>
                  <td>
                    <Button
                      kind={isDisabled(u) ? 'secondary' : 'danger'}
                      disabled={self}
                      busy={update.busy}
                      aria-label={`${isDisabled(u) ? 'Enable' : 'Disable'} ${u.email}`}
                      onClick={() => void update.run(u, { disabled: !isDisabled(u) })}
                    >
                      {isDisabled(u) ? 'Enable' : 'Disable'}
                    </Button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </ScrollBox>
    </Section>
  );
}

function BaseEditor({
  user,
  bases,
  busy,
  onSave,
}: {
  user: AdminUser;
  bases: { value: string; label: string }[];
  busy: boolean;
  onSave: (allowed: '*' | string[]) => void;
}) {
  const [all, setAll] = useState(!user.allowed_bases || user.allowed_bases === '*');
  const [chosen, setChosen] = useState<string[]>(Array.isArray(user.allowed_bases) ? user.allowed_bases : []);
  return (
    <form
      class="stack editor"
      onSubmit={(e) => {
        e.preventDefault();
        onSave(all ? '*' : chosen);
      }}
    >
      <label class="check">
        <input
          type="checkbox"
          checked={all}
          onChange={(e) => setAll((e.currentTarget as HTMLInputElement).checked)}
        />
        Every base
      </label>
      {!all && (
        <CheckList
          legend={`Bases ${user.email} may use`}
          items={bases}
          chosen={chosen}
          onChange={setChosen}
        />
      )}
      <Button type="submit" busy={busy}>
        Save bases
      </Button>
    </form>
  );
}
