/** A run's status as a coloured badge. */
import { Badge } from '@mantine/core';

const COLORS: Record<string, string> = {
  running: 'blue',
  cancelling: 'yellow',
  done: 'green',
  failed: 'red',
  cancelled: 'gray',
};

export function StatusBadge({ status }: { status: string }) {
  return (
    <Badge color={COLORS[status] ?? 'gray'} variant="light" data-testid="run-status">
      {status}
    </Badge>
  );
}
