/** The application shell: navigation, the colour-scheme switch, and the page of the current route. */
import { ActionIcon, AppShell, Badge, Group, NavLink, Text, Title, Tooltip, useComputedColorScheme, useMantineColorScheme } from '@mantine/core';
import type { ReactNode } from 'react';
import { useLoad } from './client/studio';
import { ErrorBoundary } from './components/ErrorBoundary';
import { DictionariesPage } from './pages/DictionariesPage';
import { DictionaryPage } from './pages/DictionaryPage';
import { FeaturePage } from './pages/FeaturePage';
import { HomePage } from './pages/HomePage';
import { RunPage } from './pages/RunPage';
import { RunsPage } from './pages/RunsPage';
import { WizardPage } from './pages/WizardPage';
import { href, matchRoute, usePath } from './router';

interface Route {
  pattern: string;
  render: (p: Record<string, string>) => ReactNode;
}

const ROUTES: Route[] = [
  { pattern: '/', render: () => <HomePage /> },
  { pattern: '/new', render: () => <WizardPage /> },
  { pattern: '/runs', render: () => <RunsPage /> },
  { pattern: '/runs/:id', render: (p) => <RunPage id={p.id!} /> },
  { pattern: '/dictionaries', render: () => <DictionariesPage /> },
  { pattern: '/dictionaries/:name', render: (p) => <DictionaryPage name={p.name!} /> },
  { pattern: '/dictionaries/:name/features/:index', render: (p) => <FeaturePage name={p.name!} index={Number(p.index)} /> },
];

const NAV = [
  { to: '/', label: 'Home', active: (path: string) => path === '/' },
  { to: '/new', label: 'New experiment', active: (path: string) => path === '/new' },
  { to: '/runs', label: 'Runs', active: (path: string) => path.startsWith('/runs') },
  { to: '/dictionaries', label: 'Dictionaries & features', active: (path: string) => path.startsWith('/dictionaries') },
];

function page(path: string): ReactNode {
  for (const r of ROUTES) {
    const params = matchRoute(r.pattern, path);
    if (params) return r.render(params);
  }
  return <Text c="dimmed">No page at {path}.</Text>;
}

function ThemeSwitch() {
  const { setColorScheme } = useMantineColorScheme();
  const scheme = useComputedColorScheme('light');
  const next = scheme === 'dark' ? 'light' : 'dark';
  return (
    <Tooltip label={`Switch to the ${next} theme`}>
      <ActionIcon variant="default" size="lg" aria-label={`Switch to the ${next} theme`} data-testid="theme-switch" onClick={() => setColorScheme(next)}>
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
          <ThemeSwitch />
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
