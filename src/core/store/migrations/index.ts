// Every migration, in order: an explicit list (no registration by import side effect).
import type { Migration } from '../migration';
import { migration0001 } from './0001-initial';
import { migration0002 } from './0002-features';
import { migration0003 } from './0003-graphs';
import { migration0004 } from './0004-kind-data';
import { migration0005 } from './0005-sync-state';

export const MIGRATIONS: readonly Migration[] = [
  migration0001,
  migration0002,
  migration0003,
  migration0004,
  migration0005,
];
