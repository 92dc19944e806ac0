/** The prompt's next-token probabilities, read from the graph's logit nodes (the target logit marked). */
import { Card, Group, Progress, Stack, Text, Title } from '@mantine/core';
import { fmtPct, tokenLabel } from '../components/format';

export interface NextToken {
  id: string;
  token: string;
  prob: number;
  target: boolean;
}

export function LogitProbs({
  tokens,
  onHover,
}: {
  tokens: readonly NextToken[];
  onHover?: (id: string | null) => void;
}) {
  return (
    <Card withBorder padding="sm" data-testid="next-token-probs">
      <Stack gap={4}>
        <Title order={5}>Next token</Title>
        {tokens.length === 0 && (
          <Text size="xs" c="dimmed">
            This graph has no logit nodes.
          </Text>
        )}
        {tokens.map((t) => (
          <div key={t.id} onMouseEnter={() => onHover?.(t.id)} onMouseLeave={() => onHover?.(null)}>
            <Group justify="space-between" gap="xs" wrap="nowrap">
              <Text size="xs" fw={t.target ? 700 : 400}>
                <span className="token-chip">{tokenLabel(t.token)}</span>
              </Text>
              <Text size="xs" className="num">
                {fmtPct(t.prob, 1)}
              </Text>
            </Group>
            <Progress value={t.prob * 100} size="xs" color={t.target ? 'orange' : 'gray'} />
          </div>
        ))}
      </Stack>
    </Card>
  );
}
