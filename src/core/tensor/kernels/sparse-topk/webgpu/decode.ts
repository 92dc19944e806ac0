// The sparse TopK forward after the selection, on webgpu: the selected values after ReLU, and the decoder's
// reconstruction from only the k selected rows of W_D per token.
import { flatProgram, type Program } from '../../webgpu-program';

/** values [B, k] = ReLU(pre[b, idx[b, j]]). */
export function gatherProgram(B: number, k: number): Program {
  return flatProgram(
    'SaeTopKGather',
    [B, k],
    ['pre', 'idx'],
    `
    let b = index / uniforms.idxShape.y;
    setOutputAtIndex(index, max(pre[b * uniforms.preShape.y + idx[index]], 0.0));`,
  );
}

/** recon [B, d] = b_D + Σ_j v[b, j] W_D[idx[b, j]]. */
export function decodeProgram(B: number, d: number): Program {
  return flatProgram(
    'SaeTopKDecode',
    [B, d],
    ['vals', 'idx', 'wd', 'bd'],
    `
    let d = uniforms.wdShape.y;
    let K = uniforms.idxShape.y;
    let b = index / d;
    let t = index - b * d;
    var acc = bd[t];
    for (var j = 0; j < K; j++) {
      acc += vals[b * K + j] * wd[idx[b * K + j] * d + t];
    }
    setOutputAtIndex(index, acc);`,
  );
}
