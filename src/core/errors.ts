// Errors that describe bad input (a file, a field, a value) in one line; front ends print them without a stack.
export class InputError extends Error {
  override name = 'InputError';
}

/** True for errors whose message alone tells the user what to fix. */
export function isInputError(err: unknown): boolean {
  return (
    err instanceof Error &&
    (err.name === 'InputError' || err.name === 'SafetensorsError' || err.name === 'BackendError')
  );
}
