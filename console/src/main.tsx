import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { session, signOut } from './api';
import { AdminPage } from './pages/admin';
import { AuthPage } from './pages/auth';
import { ChatPage } from './pages/chat';
import { KeysPage } from './pages/keys';
import { PrivacyPage } from './pages/privacy';
import { UsagePage } from './pages/usage';
import { WorkflowsPage } from './pages/workflows';
import { Loading, navigate } from './ui';

interface Route {
  path: string;
  title: string;
  adminOnly?: boolean;
  page: () => preact.JSX.Element;
}

const ROUTES: Route[] = [
  { path: 'chat', title: 'Chat', page: () => <ChatPage /> },
  { path: 'usage', title: 'Usage', page: () => <UsagePage /> },
  { path: 'keys', title: 'Keys', page: () => <KeysPage /> },
  { path: 'workflows', title: 'Workflows', page: () => <WorkflowsPage /> },
  { path: 'admin', title: 'Admin', adminOnly: true, page: () => <AdminPage /> },
  { path: 'privacy', title: 'Privacy', page: () => <PrivacyPage /> },
];

function currentPath(): string {
  return location.hash.replace(/^#\/?/, '').split('?')[0] || '';
}

function useHashPath(): string {
  const [path, setPath] = useState(currentPath());
  useEffect(() => {
    const onChange = () => setPath(currentPath());
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return path;
}

function useSession(): number {
  const [version, setVersion] = useState(0);
  useEffect(() => session.subscribe(() => setVersion((v) => v + 1)), []);
  return version;
}

function Shell({ route }: { route: Route }) {
  const heading = useRef<HTMLHeadingElement>(null);
  // Moving focus to the new page's heading tells keyboard and screen-reader users the page changed.
  useEffect(() => {
    document.title = `${route.title} · airtable-mcp-kit`;
    heading.current?.focus();
  }, [route.path]);
  const user = session.user;
  const routes = ROUTES.filter((r) => !r.adminOnly || user?.role === 'admin');
  return (
    <>
      <button type="button" class="skip" onClick={() => heading.current?.focus()}>
        Skip to content
      </button>
      <header class="top">
        <span class="brand">airtable-mcp-kit</span>
        <nav aria-label="Console">
          <ul>
            {routes.map((r) => (
              <li key={r.path}>
                <a href={`#/${r.path}`} aria-current={r.path === route.path ? 'page' : undefined}>
                  {r.title}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          <span class="email" title={user?.email}>
            {user?.email}
          </span>
          <button
            type="button"
            class="btn btn-secondary"
            onClick={() => void signOut().finally(() => navigate('signin'))}
          >
            Sign out
          </button>
        </div>
      </header>
      <main id="content">
        <h1 tabIndex={-1} ref={heading}>
          {route.title}
        </h1>
        {route.page()}
      </main>
    </>
  );
}

function App() {
  useSession();
  const path = useHashPath();
  const [booted, setBooted] = useState(false);
  useEffect(() => {
    // A reload keeps the session: the refresh cookie buys a new access token.
    void session.refresh().finally(() => setBooted(true));
  }, []);
  if (!booted)
    return (
      <main class="boot">
        <Loading label="Loading the console…" />
      </main>
    );
  if (!session.signedIn) {
    const mode = path === 'register' ? 'register' : 'signin';
    return <AuthPage mode={mode} onDone={() => navigate('chat')} />;
  }
  const route =
    ROUTES.find((r) => r.path === path && (!r.adminOnly || session.user?.role === 'admin')) ?? ROUTES[0]!;
  return <Shell route={route} />;
}

render(<App />, document.getElementById('app')!);
