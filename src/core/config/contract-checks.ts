// Compile-time checks that lists core keeps for itself agree with the contract's vocabulary (src/protocol), so a
// backend added on one side and not the other fails the typecheck instead of a run.
import type { BackendName as ContractBackendName } from '../../protocol/run-config';
import type { BackendName } from '../tensor/backend';

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

export const BACKENDS_AGREE: Same<BackendName, ContractBackendName> = true;
