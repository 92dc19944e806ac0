// The functions behind `sae-studio export --to mongodump|ejson DIR` and `sae-studio import DIR` (the commands
// themselves live in export.ts / import.ts): the store as lm-saes's MongoDB documents in a folder MongoDB's own
// tools read (mongorestore, mongoimport), and such a folder back into the store.
import type { StudioHome } from '../../core/home';
import { openStore } from '../../core/store';
import { DEFAULT_DATABASE, folderSource, folderWriter, type DumpFormat } from '../../core/sync/dump-folder';
import { exportDocuments } from '../../core/sync/export-documents';
import { importDocuments, type ImportCounts } from '../../core/sync/import-documents';
import type { SyncCollectionGroup } from '../../core/sync/sink';

export type { SyncCollectionGroup } from '../../core/sync/sink';

export interface ExportSummary {
  format: DumpFormat;
  /** The database folder written: `<dir>/<db>`. */
  folder: string;
  /** Documents per collection, GridFS's `fs.files` and `fs.chunks` included. */
  counts: Record<string, number>;
  bytes: number;
}

export interface ImportSummary {
  format: DumpFormat;
  folder: string;
  counts: ImportCounts;
}

type Progress = (done: number, total: number, what: string) => void;

export async function exportMongoFolder(
  home: StudioHome,
  format: 'mongodump' | 'ejson',
  dir: string,
  opts: {
    series?: string;
    only?: SyncCollectionGroup[];
    gridfsWeights?: boolean;
    onProgress?: Progress;
    /** Database folder name (default lm-saes's `mechinterp`). */
    db?: string;
  },
): Promise<ExportSummary> {
  const store = openStore({ dir: home.root, readonly: true });
  const writer = folderWriter(dir, format, opts.db ?? DEFAULT_DATABASE);
  try {
    await exportDocuments(store, writer.sink, opts);
    const folder = writer.finish();
    return { format, folder, counts: { ...writer.counts }, bytes: writer.bytes };
  } catch (e) {
    writer.abort();
    throw e;
  } finally {
    store.close();
  }
}

export async function importMongoFolder(
  home: StudioHome,
  dir: string,
  opts: { series?: string; only?: SyncCollectionGroup[]; onProgress?: Progress } = {},
): Promise<ImportSummary> {
  const source = folderSource(dir);
  const store = openStore({ dir: home.root });
  try {
    const counts = await importDocuments(store, source, { ...opts, home });
    return { format: source.format, folder: source.dbDir, counts };
  } finally {
    store.close();
  }
}
