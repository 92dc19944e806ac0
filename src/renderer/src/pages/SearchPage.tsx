/**
 * Search features by what they respond to: a token or a short text (` Washington`), over the analysis's stored
 * samples or over a live pass of the model and the dictionary on a typed text. Each hit links to the feature, and
 * to the sample where it peaks (`?sample=`).
 */
import {
  Anchor,
  Button,
  Card,
  Code,
  Group,
  SegmentedControl,
  Select,
  Stack,
  Table,
  Text,
  TextInput,
  Textarea,
  Title,
} from '@mantine/core';
import { useState } from 'react';
import type { SearchSource } from '../../../protocol/exploration';
import type { StudioResponse } from '../../../protocol/studio-service';
import { errorText, useLoad, useStudio } from '../client/studio';
import { fmtInt, fmtNum, tokenLabel } from '../components/format';
import { ErrorNote } from '../components/States';
import { Link, currentPath, queryParam } from '../router';

type Result = StudioResponse<'searchFeatures'>;

function Snippet({ tokens, highlight }: { tokens: readonly string[]; highlight: number }) {
  return (
    <Text size="sm" ff="monospace" style={{ whiteSpace: 'pre-wrap' }}>
      {tokens.map((t, i) => (
        <span
          key={i}
          style={
            i === highlight
              ? { background: 'var(--mantine-color-orange-light)', outline: '1px solid var(--mantine-color-orange-6)' }
              : undefined
          }
        >
          {tokenLabel(t)}
        </span>
      ))}
    </Text>
  );
}

function Hits({ dictionary, result }: { dictionary: string; result: Result }) {
  const d = encodeURIComponent(dictionary);
  return (
    <Card withBorder>
      <Text size="sm" c="dimmed" mb="xs" data-testid="search-summary">
        {fmtInt(result.hits.length)} features · query tokens{' '}
        {result.queryTokens.map((t, i) => (
          <Code key={i}>{tokenLabel(t)}</Code>
        ))}
        {result.analysis !== null && ` · analysis “${result.analysis}”`} · index {fmtNum(result.indexMs, 0)} ms, search{' '}
        {fmtNum(result.searchMs, 0)} ms
      </Text>
      <Table.ScrollContainer minWidth={720}>
        <Table data-testid="search-results">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Feature</Table.Th>
              <Table.Th ta="right">Max activation</Table.Th>
              <Table.Th ta="right">Hits</Table.Th>
              <Table.Th>Where it peaks</Table.Th>
              <Table.Th>Interpretation</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {result.hits.map((h) => (
              <Table.Tr key={h.index} data-testid="search-hit">
                <Table.Td>
                  <Anchor
                    component={Link}
                    to={`/dictionaries/${d}/features/${h.index}${h.contextIndex === null ? '' : `?sample=${h.contextIndex}`}`}
                  >
                    #{h.index}
                  </Anchor>
                </Table.Td>
                <Table.Td ta="right" className="num">
                  {fmtNum(h.maxActivation, 3)}
                </Table.Td>
                <Table.Td ta="right" className="num">
                  {fmtInt(h.hits)}
                </Table.Td>
                <Table.Td>
                  <Snippet tokens={h.snippet.tokens} highlight={h.snippet.highlight} />
                </Table.Td>
                <Table.Td>{h.interpretation ?? '—'}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
    </Card>
  );
}

export function SearchPage() {
  const client = useStudio();
  const dicts = useLoad((c) => c.listDictionaries({}), []);
  const [dictionary, setDictionary] = useState<string | null>(() => queryParam(currentPath(), 'dictionary'));
  const [query, setQuery] = useState(() => queryParam(currentPath(), 'q') ?? '');
  const [source, setSource] = useState<SearchSource>('samples');
  const [text, setText] = useState('');
  const [result, setResult] = useState<{ dictionary: string; data: Result } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const run = async () => {
    if (!dictionary) return setError('Choose a dictionary.');
    setBusy(true);
    setError(null);
    try {
      const data = await client.searchFeatures({ dictionary, query, source, ...(source === 'text' ? { text } : {}) });
      setResult({ dictionary, data });
    } catch (err) {
      setError(errorText(err));
      setResult(null);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Stack>
      <Title order={2}>Search features</Title>
      <Card withBorder>
        <Stack gap="sm">
          <Group align="flex-end">
            <Select
              label="Dictionary"
              data={(dicts.data?.dictionaries ?? []).map((d) => d.name)}
              value={dictionary}
              onChange={setDictionary}
              searchable
              w={260}
              data-testid="search-dictionary"
            />
            <TextInput
              label="Token or text"
              description="A leading space is part of the token: “ Washington”"
              value={query}
              onChange={(e) => setQuery(e.currentTarget.value)}
              onKeyDown={(e) => e.key === 'Enter' && void run()}
              w={300}
              data-testid="search-query"
            />
            <SegmentedControl
              value={source}
              onChange={(v) => setSource(v === 'text' ? 'text' : 'samples')}
              data={[
                { value: 'samples', label: 'Analysis samples' },
                { value: 'text', label: 'Live pass on a text' },
              ]}
            />
            <Button onClick={() => void run()} loading={busy} data-testid="search-run">
              Search
            </Button>
          </Group>
          {source === 'text' && (
            <Textarea
              label="Text the model and the dictionary run on (the query, if any, picks the positions)"
              autosize
              minRows={2}
              value={text}
              onChange={(e) => setText(e.currentTarget.value)}
              data-testid="search-text"
            />
          )}
        </Stack>
      </Card>
      {dicts.error && <ErrorNote error={dicts.error} onRetry={dicts.reload} />}
      {error && <ErrorNote error={error} />}
      {result && <Hits dictionary={result.dictionary} result={result.data} />}
    </Stack>
  );
}
