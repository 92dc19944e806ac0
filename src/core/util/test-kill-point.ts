// Test-only kill points for the kill suite (tests/kill): with SAE_STUDIO_TEST_KILL_AT=<point>[@<n>][,…] the process
// SIGKILLs itself the n-th time (default the first) it reaches the named point inside a save, so that a kill lands
// exactly where random moments rarely do (between a save's last byte and its commit rename, between two chunks of an
// analysis). Unset — always, outside tests — a point costs one environment read. The points:
//   atomic-file:before-rename      writeFileAtomic: the temporary file written and synced, not yet renamed
//   safetensors:before-rename      writeSafetensors: likewise for a .safetensors file (weights, checkpoints, chunks)
//   checkpoint:before-rename       writeCheckpoint: the checkpoint's temporary folder complete, not yet renamed
//   dictionary-save:before-commit  writeDirAtomically: the dictionary's temporary folder complete, not yet renamed
//   analysis-save:chunk            saveAnalysis: after each chunk of features committed under the staging name
//   analysis-save:published        saveAnalysis: the new analysis visible, the replaced one not yet deleted
const reached = new Map<string, number>();

export function killPoint(name: string): void {
  const at = process.env.SAE_STUDIO_TEST_KILL_AT;
  if (!at) return;
  const count = (reached.get(name) ?? 0) + 1;
  reached.set(name, count);
  for (const spec of at.split(',')) {
    const [point, nth] = spec.trim().split('@');
    if (point === name && count === (nth === undefined ? 1 : Number(nth))) process.kill(process.pid, 'SIGKILL');
  }
}
