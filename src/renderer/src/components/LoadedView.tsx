/** Renders a `useLoad` result: its error (with a retry), a loading note, an empty note, or the data. */
import type { ReactNode } from 'react';
import type { Loaded } from '../client/studio';
import { Empty, ErrorNote, Loading } from './States';

export function LoadedView<T>({
  state,
  what,
  isEmpty,
  empty,
  children,
}: {
  state: Loaded<T>;
  what: string;
  isEmpty?: (data: T) => boolean;
  empty?: ReactNode;
  children: (data: T) => ReactNode;
}) {
  if (state.error) return <ErrorNote error={state.error} onRetry={state.reload} />;
  if (state.data === null) return <Loading what={what} />;
  if (isEmpty?.(state.data)) return <Empty>{empty}</Empty>;
  return <>{children(state.data)}</>;
}
