// config.json of a MoLT, mixture of linear transforms (lm-saes `MOLTConfig`, sae_type 'molt'): F = Σ rank_counts
// transforms U_iV_i of low rank gated by an SAE-like encoder. The feature order is ranks ascending, each rank one
// contiguous block (lm-saes `generate_rank_assignments`).
import { z } from 'zod';
import { checkNotLayerTopK, checkTopK, commonKindFields } from './common';

/** lm-saes: `abs(expansion_factor − d_sae / d_model) < 0.1` (expansion_factor is kept only for consistency). */
export const MOLT_EXPANSION_TOLERANCE = 0.1;

const RANK_KEY = /^[1-9][0-9]*$/;

export const MoltConfigSchema = z
  .strictObject({
    sae_type: z.literal('molt'),
    ...commonKindFields,
    hook_point_in: z.string().min(1),
    hook_point_out: z.string().min(1),
    /** rank → number of transforms of that rank; JSON keys are strings ({"4": 128, "8": 256}). */
    rank_counts: z.record(z.string(), z.number()),
  })
  .transform((c, ctx) => {
    const entries = Object.entries(c.rank_counts);
    if (entries.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['rank_counts'], message: 'cannot be empty: give {rank: count}' });
      return z.NEVER;
    }
    for (const [rank, count] of entries) {
      if (!RANK_KEY.test(rank)) {
        ctx.addIssue({
          code: 'custom',
          path: ['rank_counts'],
          message: `rank '${rank}' must be a positive integer written without sign, point or leading zeros`,
        });
        return z.NEVER;
      }
      if (!Number.isInteger(count) || count <= 0) {
        ctx.addIssue({
          code: 'custom',
          path: ['rank_counts', rank],
          message: `the count of rank ${rank} must be a positive integer`,
        });
        return z.NEVER;
      }
    }
    const dSae = entries.reduce((s, [, count]) => s + count, 0); // lm-saes: d_sae = Σ counts
    if (c.d_sae !== undefined && c.d_sae !== dSae) {
      ctx.addIssue({ code: 'custom', path: ['d_sae'], message: `must equal Σ rank_counts = ${dSae}` });
      return z.NEVER;
    }
    const ratio = dSae / c.d_model;
    if (c.expansion_factor !== undefined && !(Math.abs(c.expansion_factor - ratio) < MOLT_EXPANSION_TOLERANCE)) {
      ctx.addIssue({
        code: 'custom',
        path: ['expansion_factor'],
        message: `must lie within ${MOLT_EXPANSION_TOLERANCE} of Σ rank_counts / d_model = ${dSae}/${c.d_model} = ${ratio}`,
      });
      return z.NEVER;
    }
    if (!checkNotLayerTopK(c, 'MoLT', ctx)) return z.NEVER;
    if (!checkTopK(c, dSae, 'd_sae = Σ rank_counts', ctx)) return z.NEVER;
    const rankCounts: Record<string, number> = {};
    for (const [rank, count] of [...entries].sort(([a], [b]) => Number(a) - Number(b))) rankCounts[rank] = count;
    return { ...c, d_sae: dSae, expansion_factor: c.expansion_factor ?? ratio, rank_counts: rankCounts };
  });

export type MoltConfigInput = z.input<typeof MoltConfigSchema>;
export type MoltConfig = z.output<typeof MoltConfigSchema>;

/** One rank's block of features: transforms [offset, offset + count) have rank `rank`. */
export interface MoltRankBlock {
  rank: number;
  count: number;
  offset: number;
}

/** The rank blocks in feature order (ranks ascending, as lm-saes lays them out). */
export function moltRankBlocks(cfg: Pick<MoltConfig, 'rank_counts'>): MoltRankBlock[] {
  const blocks: MoltRankBlock[] = [];
  let offset = 0;
  for (const [rank, count] of Object.entries(cfg.rank_counts).sort(([a], [b]) => Number(a) - Number(b))) {
    blocks.push({ rank: Number(rank), count, offset });
    offset += count;
  }
  return blocks;
}
