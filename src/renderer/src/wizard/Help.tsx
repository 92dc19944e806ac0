// A field label with an ⓘ that explains the field on hover.
import { Group, Text, Tooltip } from '@mantine/core';
import type { ReactNode } from 'react';

export function Help({ label, children }: { label: string; children: ReactNode }) {
  return (
    <Group gap={4} wrap="nowrap">
      <span>{children}</span>
      <Tooltip label={label} multiline w={300} withArrow>
        <Text span c="dimmed" size="xs" style={{ cursor: 'help' }} aria-label={label}>
          ⓘ
        </Text>
      </Tooltip>
    </Group>
  );
}
