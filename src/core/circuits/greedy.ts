// Greedy feature collection (spec §6.4, circuit-tracer's order): the target rows first; then, while fewer than
// max_feature_nodes features have rows, rank the features without a row by their influence on the targets through
// the rows computed so far, and compute the next update_interval × batch_size of them, batch_size at a time. With
// no cap (or a cap at least the number of active features) every feature is taken in feature order, unranked.
import type { Vec } from './frozen-ops';

/**
 * Influence of every column on the targets through the partial matrix (spec §6.5): Â = |rows| normalised per row,
 * I = wÂ + wÂ² + …, where a row's own column (rowCol, −1 for a logit) passes its influence on. `weights` are w per
 * row. Columns are in feature order, which is topological (a feature's edges come from earlier (layer, sublayer)
 * groups, whose columns are smaller), so one pass over the rows by descending column sums every path.
 */
export function partialInfluence(
  rows: readonly Vec[],
  rowCol: readonly number[],
  weights: readonly number[],
  nCols: number,
): Float64Array {
  const total = new Float64Array(nCols);
  const key = (r: number) => (rowCol[r]! < 0 ? Infinity : rowCol[r]!); // logits first
  const order = rows.map((_, r) => r).sort((a, b) => key(b) - key(a) || a - b);
  for (const r of order) {
    const c0 = rowCol[r]!;
    const x = weights[r]! + (c0 >= 0 ? total[c0]! : 0);
    if (x === 0) continue;
    const row = rows[r]!;
    let sum = 0;
    for (let c = 0; c < nCols; c++) sum += Math.abs(row[c]!);
    const k = x / Math.max(sum, 1e-10);
    for (let c = 0; c < nCols; c++) total[c]! += k * Math.abs(row[c]!);
  }
  return total;
}

export interface CollectionPlan {
  nFeatures: number;
  maxFeatureNodes: number | null;
  batchSize: number;
  updateInterval: number;
}

/** Computes rows for a list of feature columns (B at most batchSize); resolves when done. */
export type RowBatch = (features: number[]) => Promise<Vec[]>;

/**
 * Runs the collection given the target rows (features among the targets are visited already). Returns the row of
 * every visited feature, by feature column.
 */
export async function collectFeatures(
  plan: CollectionPlan,
  targetRows: { rows: Vec[]; rowCol: number[]; weights: number[] },
  nCols: number,
  computeRows: RowBatch,
): Promise<Map<number, Vec>> {
  const visited = new Map<number, Vec>();
  targetRows.rowCol.forEach((c, r) => {
    if (c >= 0) visited.set(c, targetRows.rows[r]!);
  });
  const cap = Math.min(plan.maxFeatureNodes ?? plan.nFeatures, plan.nFeatures);
  const run = async (features: number[]) => {
    for (let i = 0; i < features.length; i += plan.batchSize) {
      const batch = features.slice(i, i + plan.batchSize);
      const rows = await computeRows(batch);
      batch.forEach((f, j) => visited.set(f, rows[j]!));
    }
  };
  if (cap >= plan.nFeatures) {
    await run(Array.from({ length: plan.nFeatures }, (_, f) => f).filter((f) => !visited.has(f)));
    return visited;
  }
  while (visited.size < cap) {
    const rows = [...targetRows.rows];
    const rowCol = [...targetRows.rowCol];
    const weights = [...targetRows.weights];
    for (const [c, row] of visited) {
      if (targetRows.rowCol.includes(c)) continue;
      rows.push(row);
      rowCol.push(c);
      weights.push(0);
    }
    const infl = partialInfluence(rows, rowCol, weights, nCols);
    const ranked = Array.from({ length: plan.nFeatures }, (_, f) => f)
      .filter((f) => !visited.has(f))
      .sort((a, b) => infl[b]! - infl[a]! || a - b);
    const take = Math.min(plan.updateInterval * plan.batchSize, cap - visited.size);
    // In feature order, so a batch shares its layer and positions (a shorter reverse sweep; rows do not change).
    await run(ranked.slice(0, take).sort((a, b) => a - b));
  }
  return visited;
}
