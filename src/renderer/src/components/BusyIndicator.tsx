/**
 * "busy, retrying": shown while calls of this window wait for a store another process is writing (the studio
 * answered `busy`, and the client tries again — client/busy-retry.ts), instead of an error on the page.
 */
import { Badge, Loader, Tooltip } from '@mantine/core';
import { useBusyWaiting } from '../client/studio';

export function BusyIndicator() {
  const waiting = useBusyWaiting();
  if (waiting === 0) return null;
  return (
    <Tooltip label="Another process is writing to the studio's store; your request is sent again until it is free.">
      <Badge
        role="status"
        aria-live="polite"
        data-testid="busy-indicator"
        variant="light"
        color="yellow"
        leftSection={<Loader size={10} color="yellow" />}
      >
        busy, retrying{waiting > 1 ? ` (${waiting})` : ''}
      </Badge>
    </Tooltip>
  );
}
