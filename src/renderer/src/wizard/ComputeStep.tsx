// The wizard's compute step: the backend to train on, and what this machine offers.
import { Card, SegmentedControl, Stack, Text } from '@mantine/core';
import { BACKEND_REQUESTS } from '../../../protocol/run-config';
import { useLoad } from '../client/studio';
import { ComputeSummary } from '../pages/HomePage';
import type { Wizard } from './use-wizard';

export function ComputeStep({ w }: { w: Wizard }) {
  const system = useLoad((c) => c.systemInfo({}), []);
  const { form } = w;
  return (
    <Stack>
      <SegmentedControl
        value={form.backend}
        onChange={(v) => w.set('backend', BACKEND_REQUESTS.find((b) => b === v) ?? form.backend)}
        data={BACKEND_REQUESTS.map((b) => ({ value: b, label: b }))}
      />
      <Text size="xs" c="dimmed">
        auto: a hardware WebGPU adapter when there is one, else wasm with the native sgemm and sparse kernels.
      </Text>
      {w.shown.backend && (
        <Text c="red" size="sm">
          {w.shown.backend}
        </Text>
      )}
      {system.data && (
        <Card withBorder>
          <ComputeSummary info={system.data} />
        </Card>
      )}
    </Stack>
  );
}
