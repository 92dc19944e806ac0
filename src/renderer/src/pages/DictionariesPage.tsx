/** The dictionaries in the store with their evaluation metrics. */
import { Anchor, Card, Stack, Table, Text, Title } from '@mantine/core';
import type { DictionarySummary } from '../../../protocol/dictionaries';
import { useLoad } from '../client/studio';
import { fmtDate, fmtInt, fmtNum } from '../components/format';
import { dictionaryHooksText, dictionaryKindText } from '../components/dictionary-kind-text';
import { LoadedView } from '../components/LoadedView';
import { Link } from '../router';

export function DictionariesTable({ dictionaries }: { dictionaries: readonly DictionarySummary[] }) {
  return (
    <Table.ScrollContainer minWidth={900}>
      <Table highlightOnHover>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Name</Table.Th>
            <Table.Th>Model</Table.Th>
            <Table.Th>Hook point</Table.Th>
            <Table.Th ta="right">Latents</Table.Th>
            <Table.Th ta="right">Explained var.</Table.Th>
            <Table.Th ta="right">L0</Table.Th>
            <Table.Th ta="right">CE recovered</Table.Th>
            <Table.Th>Updated</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {dictionaries.map((d) => (
            <Table.Tr key={d.name} data-testid="dictionary-row">
              <Table.Td>
                <Anchor component={Link} to={`/dictionaries/${encodeURIComponent(d.name)}`}>
                  {d.name}
                </Anchor>
                <Text size="xs" c="dimmed" data-testid="dictionary-row-kind">
                  {dictionaryKindText(d)}
                </Text>
              </Table.Td>
              <Table.Td>{d.modelName ?? '—'}</Table.Td>
              <Table.Td>{dictionaryHooksText(d)}</Table.Td>
              <Table.Td ta="right" className="num">
                {fmtInt(d.dSae)}
              </Table.Td>
              <Table.Td ta="right" className="num">
                {fmtNum(d.metrics?.explained_variance ?? null)}
              </Table.Td>
              <Table.Td ta="right" className="num">
                {fmtNum(d.metrics?.l0 ?? null, 2)}
              </Table.Td>
              <Table.Td ta="right" className="num">
                {fmtNum(d.metrics?.ce_loss_recovered ?? null)}
              </Table.Td>
              <Table.Td>{fmtDate(d.updatedAt)}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

export function DictionariesPage() {
  const dicts = useLoad((c) => c.listDictionaries({}), []);
  return (
    <Stack>
      <Title order={2}>Dictionaries</Title>
      <Card withBorder>
        <LoadedView
          state={dicts}
          what="dictionaries"
          isEmpty={(d) => d.dictionaries.length === 0}
          empty="No dictionaries yet: train one with New experiment."
        >
          {(d) => <DictionariesTable dictionaries={d.dictionaries} />}
        </LoadedView>
      </Card>
    </Stack>
  );
}
