// The run's log, kept scrolled to its newest line inside its own box (the page itself does not move).
import { Card, ScrollArea, Text } from '@mantine/core';
import { useEffect, useRef } from 'react';

export function RunLog({ lines }: { lines: readonly string[] }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [lines.length]);
  return (
    <Card withBorder>
      <Text size="sm" fw={500} mb={4}>
        Log
      </Text>
      <ScrollArea h={200} type="auto" viewportRef={box}>
        <pre className="run-log" data-testid="run-log">
          {lines.join('\n')}
        </pre>
      </ScrollArea>
    </Card>
  );
}
