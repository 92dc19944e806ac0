/** The exploration entry points of a dictionary's page: a random feature, search its features, compare it. */
import { Button, Group } from '@mantine/core';
import { Link } from '../router';
import { RandomFeatureButton } from './OverviewPanel';

export function DictionaryActions({ dictionary }: { dictionary: string }) {
  const q = encodeURIComponent(dictionary);
  return (
    <Group gap="xs" mt="xs">
      <RandomFeatureButton dictionary={dictionary} />
      <Button component={Link} to={`/search?dictionary=${q}`} variant="default" size="xs">
        Search features
      </Button>
      <Button component={Link} to={`/compare?a=${q}`} variant="default" size="xs">
        Compare with…
      </Button>
    </Group>
  );
}
