/** Every bookmarked feature of every dictionary, newest first, with its tags and note, each linked to its page. */
import { Anchor, Badge, Card, Group, Stack, Table, Title } from '@mantine/core';
import { useLoad } from '../client/studio';
import { fmtDate } from '../components/format';
import { LoadedView } from '../components/LoadedView';
import { Link } from '../router';

export function BookmarksPage() {
  const bookmarks = useLoad((c) => c.listBookmarks({ limit: 1000 }), []);
  return (
    <Stack>
      <Title order={2}>Bookmarks</Title>
      <Card withBorder>
        <LoadedView
          state={bookmarks}
          what="bookmarks"
          isEmpty={(d) => d.bookmarks.length === 0}
          empty="No bookmarks yet: bookmark a feature from its page."
        >
          {(d) => (
            <Table data-testid="bookmarks-table">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Feature</Table.Th>
                  <Table.Th>Tags</Table.Th>
                  <Table.Th>Note</Table.Th>
                  <Table.Th>Added</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {d.bookmarks.map((b) => (
                  <Table.Tr key={`${b.dictionary}-${b.index}`}>
                    <Table.Td>
                      <Anchor
                        component={Link}
                        to={`/dictionaries/${encodeURIComponent(b.dictionary)}/features/${b.index}`}
                      >
                        {b.dictionary} #{b.index}
                      </Anchor>
                    </Table.Td>
                    <Table.Td>
                      <Group gap={4}>
                        {b.tags.map((t) => (
                          <Badge key={t} size="sm" variant="light">
                            {t}
                          </Badge>
                        ))}
                      </Group>
                    </Table.Td>
                    <Table.Td>{b.note ?? ''}</Table.Td>
                    <Table.Td>{fmtDate(b.createdAt)}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          )}
        </LoadedView>
      </Card>
    </Stack>
  );
}
