// Whether a new training run spools its statistics pass's activations to disk (one LM pass instead of two):
// when that pass runs at all (dataset-wise norm or b_D from the mean), the run reads the model on the fly (not an
// activation cache), and the disk has room for every window's rows with a margin. Otherwise the training stream
// runs the model again, as before, and the log says why.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { SaeConfig } from '../../protocol/dictionary-config';
import type { TrainConfig } from '../../protocol/run-config';
import type { TokenMaskOptions } from '../data/masks';
import type { TokenBatch } from '../lm/token-batch';
import { freeBytes, RowSpool, spoolKey } from '../activations/row-spool';
import { hookWidths } from '../activations/model-rows';
import type { HookedTransformer } from '../lm/hooked-transformer';
import type { Log } from './train-run';

/** Room left free on the disk beyond the spool itself. */
const DISK_MARGIN_BYTES = 2 * 2 ** 30;

export interface SpoolInput {
  cfg: TrainConfig;
  saeCfg: SaeConfig;
  resumed: boolean;
  runDir: string;
  model: HookedTransformer;
  windows: TokenBatch;
  mask: TokenMaskOptions;
  hookPoints: string[];
  log: Log;
}

/** The folder a run spools into: inside its run folder, removed when the spool is disposed. */
export function spoolDir(runDir: string): string {
  return join(runDir, 'activation-spool');
}

export async function openTrainingSpool(input: SpoolInput): Promise<RowSpool | null> {
  const { cfg, saeCfg, windows } = input;
  // A run killed while it trained leaves its spool behind: its resume (or a rerun of the id) removes it.
  rmSync(spoolDir(input.runDir), { recursive: true, force: true });
  const statsPass =
    (saeCfg.norm_activation === 'dataset-wise' && !saeCfg.dataset_average_activation_norm) ||
    cfg.initializer.bias_init_method === 'mean';
  if (input.resumed || cfg.activation_cache || !statsPass) return null;
  const dims = await hookWidths(input.model, input.hookPoints);
  // Rows of every window (an upper bound: the stats pass may stop earlier), float32, plus a position per row.
  const width = input.hookPoints.reduce((s, h) => s + (dims[h] ?? 0), 0);
  const need = windows.batch * windows.seq * (width + 1) * 4;
  const free = freeBytes(input.runDir);
  if (free < need + DISK_MARGIN_BYTES) {
    input.log(
      `activations not spooled (${gb(need)} GB needed, ${gb(free)} GB free): the model runs again for training`,
    );
    return null;
  }
  const spool = new RowSpool(spoolDir(input.runDir), spoolKey(windows, input.mask, input.hookPoints), dims);
  input.log(`the statistics pass spools its activations to ${spool.dir}: training reads them back`);
  return spool;
}

function gb(bytes: number): string {
  return (bytes / 2 ** 30).toFixed(1);
}
