// The one error type of the safetensors reader and writer: a one-line message that starts with the file it concerns.

export class SafetensorsError extends Error {
  override readonly name = 'SafetensorsError';

  /** `file` is the path (or a label such as `<memory>`); `detail` names the tensor/field and what was expected. */
  constructor(
    readonly file: string,
    readonly detail: string,
  ) {
    super(`${file}: ${detail}`);
  }
}
