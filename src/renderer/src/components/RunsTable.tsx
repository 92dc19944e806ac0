/** Training runs as a table: id (a link to its dashboard), dictionary, status, last step, start and end. */
import { Anchor, Table } from '@mantine/core';
import type { RunSummary } from '../../../protocol/runs';
import { Link } from '../router';
import { fmtDate, fmtInt } from './format';
import { StatusBadge } from './RunStatus';

export function RunsTable({ runs }: { runs: readonly RunSummary[] }) {
  return (
    <Table.ScrollContainer minWidth={720}>
      <Table highlightOnHover>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Run</Table.Th>
            <Table.Th>Dictionary</Table.Th>
            <Table.Th>Status</Table.Th>
            <Table.Th ta="right">Last step</Table.Th>
            <Table.Th>Started</Table.Th>
            <Table.Th>Finished</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {runs.map((r) => (
            <Table.Tr key={r.id}>
              <Table.Td>
                <Anchor component={Link} to={`/runs/${encodeURIComponent(r.id)}`}>
                  {r.id}
                </Anchor>
              </Table.Td>
              <Table.Td>{r.dictionaryName}</Table.Td>
              <Table.Td>
                <StatusBadge status={r.active ? 'running' : r.status} />
              </Table.Td>
              <Table.Td ta="right" className="num">
                {fmtInt(r.lastStep)}
              </Table.Td>
              <Table.Td>{fmtDate(r.startedAt)}</Table.Td>
              <Table.Td>{fmtDate(r.finishedAt)}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}
