// A dictionary's evaluation after training: explained variance, L0, MSE, dead latents and the CE losses.
import { Card, Table, Text } from '@mantine/core';
import type { DictionarySummary } from '../../../protocol/dictionaries';
import { fmtInt, fmtNum, fmtPct } from './format';

export function EvaluationTable({ dictionary }: { dictionary: DictionarySummary }) {
  const m = dictionary.metrics ?? {};
  const rows: [string, string][] = [
    ['Explained variance', fmtNum(m.explained_variance ?? null)],
    ['L0', fmtNum(m.l0 ?? null, 2)],
    ['MSE', fmtNum(m.mse ?? null)],
    ['L2 ratio', fmtNum(m.l2_ratio ?? null)],
    ['Dead latents', fmtPct(m.dead_fraction ?? null)],
    ['CE original', fmtNum(m.ce_orig ?? null)],
    ['CE with dictionary', fmtNum(m.ce_with_dictionary ?? null)],
    ['CE zero-ablation', fmtNum(m.ce_zero_ablation ?? null)],
    ['CE loss recovered', fmtNum(m.ce_loss_recovered ?? null)],
    ['Evaluation tokens', fmtInt(m.tokens ?? null)],
  ];
  return (
    <Card withBorder data-testid="evaluation-table">
      <Text size="sm" fw={500} mb={4}>
        Evaluation
      </Text>
      <Table>
        <Table.Tbody>
          {rows.map(([k, v]) => (
            <Table.Tr key={k}>
              <Table.Td>{k}</Table.Td>
              <Table.Td className="num" ta="right">
                {v}
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Card>
  );
}
