import { useEffect, useState } from 'preact/hooks';
import { ApiError, register, send, signIn } from '../api';
import { Button, ErrorNote, Field } from '../ui';

/** Sign in and register: one form, two modes (registration only works where the server has it open). */
export function AuthPage({ mode, onDone }: { mode: 'signin' | 'register'; onDone: () => void }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [firstName, setFirstName] = useState('');
  const [lastName, setLastName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const registering = mode === 'register';
  // Whether anyone may register here (unknown until the server says; an older server never does).
  const [registration, setRegistration] = useState<'open' | 'closed' | undefined>();
  useEffect(() => {
    send<{ registration?: 'open' | 'closed' }>('GET', '/auth/config', undefined, { auth: false })
      .then((config) => setRegistration(config?.registration))
      .catch(() => setRegistration(undefined));
  }, []);
  const closed = registration === 'closed';
  const fieldError = (name: string) => (error instanceof ApiError ? error.fieldMessage(name) : undefined);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      if (registering) {
        await register({
          email,
          password,
          ...(firstName ? { first_name: firstName } : {}),
          ...(lastName ? { last_name: lastName } : {}),
        });
      } else {
        await signIn(email, password);
      }
      onDone();
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  const title = registering ? 'Create an account' : 'Sign in';
  return (
    <main class="auth">
      <form class="card auth-card" onSubmit={submit} aria-labelledby="auth-title" noValidate>
        <p class="brand">airtable-mcp-kit</p>
        <h1 id="auth-title">{title}</h1>
        <Field
          label="Email"
          type="email"
          name="email"
          autoComplete="username"
          required
          value={email}
          onValue={setEmail}
          error={fieldError('email')}
        />
        <Field
          label="Password"
          type="password"
          name="password"
          autoComplete={registering ? 'new-password' : 'current-password'}
          required
          minLength={registering ? 8 : undefined}
          hint={registering ? 'At least 8 characters.' : undefined}
          value={password}
          onValue={setPassword}
          error={fieldError('password')}
        />
        {registering && (
          <div class="row">
            <Field
              label="First name (optional)"
              name="first_name"
              autoComplete="given-name"
              value={firstName}
              onValue={setFirstName}
            />
            <Field
              label="Last name (optional)"
              name="last_name"
              autoComplete="family-name"
              value={lastName}
              onValue={setLastName}
            />
          </div>
        )}
        {registering && closed && (
          <p class="note" role="status">
            Registration is closed on this server: ask an admin to create your account.
          </p>
        )}
        <ErrorNote error={error} />
        <Button type="submit" busy={busy}>
          {busy ? (registering ? 'Creating…' : 'Signing in…') : title}
        </Button>
        <p class="switch">
          {registering ? (
            <>
              Have an account? <a href="#/signin">Sign in</a>
            </>
          ) : closed ? (
            <>New here? Ask an admin to create your account.</>
          ) : (
            <>
              New here? <a href="#/register">Create an account</a>
            </>
          )}
        </p>
      </form>
    </main>
  );
}
