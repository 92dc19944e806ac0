// The gradient at the selected latents on webgpu: dz [B, k] = [v > 0] g[b]·W_D[idx[b, j]], one invocation per slot.
import { flatProgram, type Program } from '../../webgpu-program';

/** dz [B, k] = [v > 0] · g[b] · W_D[idx[b, j]]. */
export function latentGradProgram(B: number, k: number): Program {
  return flatProgram(
    'SaeTopKLatentGrad',
    [B, k],
    ['g', 'vals', 'idx', 'wd'],
    `
    if (vals[index] <= 0.0) { setOutputAtIndex(index, 0.0); return; }
    let d = uniforms.gShape.y;
    let b = index / uniforms.idxShape.y;
    let row = idx[index] * d;
    var acc = 0.0;
    for (var t = 0; t < d; t++) { acc += g[b * d + t] * wd[row + t]; }
    setOutputAtIndex(index, acc);`,
  );
}
