/**
 * Sync with the lab's lm-saes MongoDB: a connection form (the password is held in this page's memory only, never
 * stored or shown), push and pull buttons with progress, the summary of the last sync, past syncs and the conflict
 * log (interpretations edited on both sides: the newest edit won, the other is listed here).
 */
import {
  Alert,
  Button,
  Card,
  Group,
  PasswordInput,
  Progress,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useState } from 'react';
import type { SyncSummaryView } from '../../../protocol/sync';
import { errorText, useLoad, useStudio } from '../client/studio';
import { fmtDate } from '../components/format';
import { LoadedView } from '../components/LoadedView';

function SyncLog({ reload }: { reload: number }) {
  const log = useLoad((client) => client.syncLog({}), [reload]);
  return (
    <LoadedView state={log} what="sync log" isEmpty={(l) => l.runs.length === 0} empty="No sync yet.">
      {(l) => (
        <Stack>
          <Title order={4}>Past syncs</Title>
          <Table data-testid="sync-runs">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Started</Table.Th>
                <Table.Th>Direction</Table.Th>
                <Table.Th>Server</Table.Th>
                <Table.Th>Status</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {l.runs.map((r, i) => (
                <Table.Tr key={i}>
                  <Table.Td>{fmtDate(r.startedAt)}</Table.Td>
                  <Table.Td>{r.direction}</Table.Td>
                  <Table.Td>{r.target}</Table.Td>
                  <Table.Td>{r.error ? `${r.status}: ${r.error}` : r.status}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
          <Title order={4}>Conflict log</Title>
          {l.conflicts.length === 0 ? (
            <Text c="dimmed">No conflicts.</Text>
          ) : (
            <Table data-testid="sync-conflicts">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Feature</Table.Th>
                  <Table.Th>Kept</Table.Th>
                  <Table.Th>Local text</Table.Th>
                  <Table.Th>Lab text</Table.Th>
                  <Table.Th>When</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {l.conflicts.map((c, i) => (
                  <Table.Tr key={i}>
                    <Table.Td>{c.record}</Table.Td>
                    <Table.Td>{c.winner === 'local' ? 'this computer' : 'the lab'}</Table.Td>
                    <Table.Td>{c.localValue ?? '—'}</Table.Td>
                    <Table.Td>{c.remoteValue ?? '—'}</Table.Td>
                    <Table.Td>{fmtDate(c.resolvedAt)}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          )}
        </Stack>
      )}
    </LoadedView>
  );
}

export function SyncPage() {
  const client = useStudio();
  const [uri, setUri] = useState('mongodb://localhost:27017');
  const [password, setPassword] = useState(''); // memory only
  const [db, setDb] = useState('mechinterp');
  const [series, setSeries] = useState('');
  const [busy, setBusy] = useState<'push' | 'pull' | null>(null);
  const [summary, setSummary] = useState<SyncSummaryView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [reload, setReload] = useState(0);
  const run = async (direction: 'push' | 'pull') => {
    setBusy(direction);
    setError(null);
    setSummary(null);
    try {
      setSummary(
        await client.syncRun({
          direction,
          uri,
          ...(password ? { password } : {}),
          ...(db ? { db } : {}),
          ...(series ? { series } : {}),
        }),
      );
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(null);
      setReload((n) => n + 1);
    }
  };
  return (
    <Stack>
      <Title order={2}>Sync with an lm-saes MongoDB</Title>
      <Card withBorder>
        <Stack>
          <TextInput
            label="MongoDB URI"
            description="mongodb://user@host:27017 — the password goes below"
            value={uri}
            onChange={(e) => setUri(e.currentTarget.value)}
          />
          <PasswordInput
            label="Password"
            description="kept in this window's memory only"
            value={password}
            onChange={(e) => setPassword(e.currentTarget.value)}
            autoComplete="off"
          />
          <Group grow>
            <TextInput label="Database" value={db} onChange={(e) => setDb(e.currentTarget.value)} />
            <TextInput
              label="Series"
              description="all when empty"
              value={series}
              onChange={(e) => setSeries(e.currentTarget.value)}
            />
          </Group>
          <Group>
            <Button onClick={() => void run('push')} loading={busy === 'push'} disabled={busy !== null}>
              Push to the lab
            </Button>
            <Button variant="light" onClick={() => void run('pull')} loading={busy === 'pull'} disabled={busy !== null}>
              Pull from the lab
            </Button>
          </Group>
          {busy && <Progress value={100} animated striped aria-label={`${busy} in progress`} />}
          {error && (
            <Alert color="red" data-testid="sync-error">
              {error}
            </Alert>
          )}
          {summary && (
            <Alert color="green" data-testid="sync-summary">
              {summary.direction} {summary.target}: {summary.writes} records written, {summary.unchanged} unchanged,{' '}
              {summary.files} GridFS files, {summary.conflicts} conflicts ({summary.seconds.toFixed(1)} s)
            </Alert>
          )}
        </Stack>
      </Card>
      <SyncLog reload={reload} />
    </Stack>
  );
}
