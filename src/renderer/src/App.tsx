/** The application shell: navigation, the colour-scheme switch, and the page of the current route. */
import {
  ActionIcon,
  AppShell,
  Badge,
  Group,
  NavLink,
  Text,
  Title,
  Tooltip,
  useComputedColorScheme,
  useMantineColorScheme,
} from '@mantine/core';
import type { ReactNode } from 'react';
import { useLoad } from './client/studio';
import { BusyIndicator } from './components/BusyIndicator';
import { ErrorBoundary } from './components/ErrorBoundary';
import { CircuitPage } from './pages/CircuitPage';
import { CircuitsPage } from './pages/CircuitsPage';
import { DictionariesPage } from './pages/DictionariesPage';
import { DictionaryPage } from './pages/DictionaryPage';
import { FeaturePage } from './pages/FeaturePage';
import { HomePage } from './pages/HomePage';
import { RunPage } from './pages/RunPage';
import { RunsPage } from './pages/RunsPage';
import { SyncPage } from './pages/SyncPage';
import { WizardPage } from './pages/WizardPage';
import { BookmarksPage } from './pages/BookmarksPage';
import { ComparePage } from './pages/ComparePage';
import { SearchPage } from './pages/SearchPage';
import { href, matchRoute, usePath, type RouteParams } from './router';

interface Route {
  /** The page for `path`, or null when the route does not match it. */
  page: (path: string) => ReactNode | null;
}

function route<P extends string>(pattern: P, render: (params: RouteParams<P>) => ReactNode): Route {
  return {
    page: (path) => {
      const params = matchRoute(pattern, path);
      return params ? render(params) : null;
    },
  };
}

const ROUTES: Route[] = [
  route('/', () => <HomePage />),
  route('/new', () => <WizardPage />),
  route('/runs', () => <RunsPage />),
  route('/runs/:id', (p) => <RunPage id={p.id} />),
  route('/dictionaries', () => <DictionariesPage />),
  route('/dictionaries/:name', (p) => <DictionaryPage name={p.name} />),
  route('/dictionaries/:name/features/:index', (p) => <FeaturePage name={p.name} index={Number(p.index)} />),
  route('/circuits', () => <CircuitsPage />),
  route('/circuits/:name', (p) => <CircuitPage name={p.name} />),
  route('/sync', () => <SyncPage />),
  route('/search', () => <SearchPage />),
  route('/compare', () => <ComparePage />),
  route('/bookmarks', () => <BookmarksPage />),
];

const NAV = [
  { to: '/', label: 'Home', active: (path: string) => path === '/' },
  { to: '/new', label: 'New experiment', active: (path: string) => path === '/new' },
  { to: '/runs', label: 'Runs', active: (path: string) => path.startsWith('/runs') },
  { to: '/dictionaries', label: 'Dictionaries & features', active: (path: string) => path.startsWith('/dictionaries') },
  { to: '/circuits', label: 'Circuits', active: (path: string) => path.startsWith('/circuits') },
  { to: '/sync', label: 'Sync', active: (path: string) => path.startsWith('/sync') },
  { to: '/search', label: 'Search features', active: (path: string) => path.startsWith('/search') },
  { to: '/compare', label: 'Compare', active: (path: string) => path.startsWith('/compare') },
  { to: '/bookmarks', label: 'Bookmarks', active: (path: string) => path.startsWith('/bookmarks') },
];

function page(path: string): ReactNode {
  for (const r of ROUTES) {
    const found = r.page(path);
    if (found !== null) return found;
  }
  return <Text c="dimmed">No page at {path}.</Text>;
}

function ThemeSwitch() {
  const { setColorScheme } = useMantineColorScheme();
  const scheme = useComputedColorScheme('light');
  const next = scheme === 'dark' ? 'light' : 'dark';
  return (
    <Tooltip label={`Switch to the ${next} theme`}>
      <ActionIcon
        variant="default"
        size="lg"
        aria-label={`Switch to the ${next} theme`}
        data-testid="theme-switch"
        onClick={() => setColorScheme(next)}
      >
        {scheme === 'dark' ? '☀' : '☾'}
      </ActionIcon>
    </Tooltip>
  );
}

export function App() {
  const path = usePath();
  const info = useLoad((c) => c.appInfo({}), []);
  return (
    <AppShell header={{ height: 52 }} navbar={{ width: 230, breakpoint: 'sm' }} padding="md">
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between">
          <Group gap="xs">
            <Title order={3} style={{ letterSpacing: '-0.02em' }}>
              SAE Studio
            </Title>
            {info.data && (
              <Badge variant="light" color="gray">
                {info.data.version}
              </Badge>
            )}
          </Group>
          <Group gap="xs">
            <BusyIndicator />
            <ThemeSwitch />
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs">
        {NAV.map((n) => (
          <NavLink key={n.to} href={href(n.to)} label={n.label} active={n.active(path)} />
        ))}
      </AppShell.Navbar>
      <AppShell.Main>
        <ErrorBoundary resetKey={path}>{page(path)}</ErrorBoundary>
      </AppShell.Main>
    </AppShell>
  );
}
