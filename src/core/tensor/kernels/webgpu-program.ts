// Programs for tfjs-backend-webgpu's own program runner (runWebGPUProgram): tfjs allocates their single output and
// manages it like any other tensor. Two shapes of program: one invocation per element, and one workgroup per unit of
// work (a row, a block of rows…). Kernels that need several outputs, in-place updates or atomics use webgpu-dispatch.ts.
import type * as tf from '@tensorflow/tfjs-core';

/** What the kernels need of tfjs-backend-webgpu's WebGPUBackend (typed here so core never imports the package). */
interface WebGpuRunner {
  runWebGPUProgram(
    program: Program,
    inputs: tf.TensorInfo[],
    outputDtype: tf.DataType,
    uniforms?: Array<{ type: string; data: number[] }>,
  ): tf.TensorInfo;
  device: GPUDevice;
}

export interface Program {
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[]; y?: number[] };
  dispatch: [number, number, number];
  variableNames: string[];
  workgroupSize: [number, number, number];
  size?: boolean;
  /** Extra fields of the Uniforms struct ('name : i32, …'), filled from `uniformData` in order. */
  uniforms?: string;
  uniformData?: number[];
  getUserCode: () => string;
}

const FLAT_WG = 64;

/**
 * `n` invocations (default: one per output element) of `main(index)`; `fields` are extra i32 uniforms
 * ('name' → value) the body reads as uniforms.name.
 */
export function flatProgram(
  key: string,
  outputShape: number[],
  variableNames: string[],
  body: string,
  n = outputShape.reduce((a, b) => a * b, 1),
  fields: Record<string, number> = {},
): Program {
  const all = { n, ...fields };
  return {
    outputShape,
    shaderKey: key,
    dispatchLayout: { x: outputShape.map((_, i) => i) },
    dispatch: [Math.ceil(n / FLAT_WG), 1, 1],
    variableNames,
    workgroupSize: [FLAT_WG, 1, 1],
    uniforms: Object.keys(all)
      .map((f) => `${f} : i32,`)
      .join(' '),
    uniformData: Object.values(all),
    getUserCode: () => `
      fn main(index : i32) {
        if (index >= uniforms.n) { return; }
        ${body}
      }`,
  };
}

/** One workgroup per unit of work (a row, a block of rows…); `main()` loops units uniformly. */
export function workgroupProgram(
  key: string,
  outputShape: [number, number],
  variableNames: string[],
  units: number,
  wg: number,
  decls: string,
  body: string,
  fields: Record<string, number> = {},
): Program {
  const all = { units, ...fields };
  return {
    outputShape,
    shaderKey: key,
    dispatchLayout: { x: [0], y: [1] },
    dispatch: [Math.max(1, Math.min(units, 65535)), 1, 1],
    variableNames,
    workgroupSize: [wg, 1, 1],
    uniforms: Object.keys(all)
      .map((f) => `${f} : i32,`)
      .join(' '),
    uniformData: Object.values(all),
    getUserCode: () => `
      ${decls}
      var<workgroup> wgUnit : i32;
      fn main() {
        let lane = i32(localIndex);
        let nUnits = uniforms.units;
        if (lane == 0) { wgUnit = i32(workgroupId.x); }
        var unit = workgroupUniformLoad(&wgUnit);
        loop {
          if (unit >= nUnits) { break; }
          ${body}
          workgroupBarrier();
          if (lane == 0) { wgUnit = unit + i32(numWorkgroups.x); }
          unit = workgroupUniformLoad(&wgUnit);
        }
      }`,
  };
}

/** Runs a program with its own uniforms. */
export function runner(backend: unknown): {
  run(program: Program, inputs: tf.TensorInfo[], dtype: tf.DataType): tf.TensorInfo;
} {
  const b = backend as WebGpuRunner;
  return {
    run: (program, inputs, dtype) =>
      b.runWebGPUProgram(
        program,
        inputs,
        dtype,
        (program.uniformData ?? []).map((v) => ({ type: 'int32', data: [v] })),
      ),
  };
}
