/**
 * The server half of every transport: takes a method name and an untrusted request, validates the request with the
 * method's schema, runs the implementation, checks the response against the contract, and turns any failure into a
 * ServiceErrorData (bad input with its fields, unknown method, or one line for an internal error).
 */
import { ServiceError, summarizeIssues, type CallResult } from './service-error';
import { isStudioMethod, STUDIO_METHODS, type StudioMethod, type StudioServiceImpl } from './studio-service';
import { fieldIssues } from './zod-issues';

export interface DispatchOptions {
  /** Told about internal errors (with their stack), e.g. to log them; the caller only sees one line. */
  onInternalError?: (method: string, error: unknown) => void;
}

export async function dispatchStudioCall(
  impl: StudioServiceImpl,
  method: string,
  request: unknown,
  options: DispatchOptions = {},
): Promise<CallResult> {
  if (!isStudioMethod(method)) {
    return { ok: false, error: { code: 'unknown_method', message: `unknown method '${method}'` } };
  }
  const schemas = STUDIO_METHODS[method];
  const parsed = schemas.request.safeParse(request ?? {});
  if (!parsed.success) return { ok: false, error: ServiceError.invalidInput(fieldIssues(parsed.error)).toData() };
  try {
    const result = await callImpl(impl, method, parsed.data);
    const checked = schemas.response.safeParse(result);
    if (!checked.success) {
      throw new Error(`the response of ${method} breaks the contract: ${summarizeIssues(fieldIssues(checked.error))}`);
    }
    return { ok: true, result: checked.data };
  } catch (err) {
    if (err instanceof ServiceError) return { ok: false, error: err.toData() };
    options.onInternalError?.(method, err);
    return { ok: false, error: { code: 'internal', message: oneLine(err) } };
  }
}

function callImpl(impl: StudioServiceImpl, method: StudioMethod, request: unknown): Promise<unknown> {
  // The request was parsed by this method's own schema, so it has the type the implementation expects.
  const fn = impl[method] as (request: unknown) => Promise<unknown>;
  return fn.call(impl, request);
}

/** The first line of an error's message. */
export function oneLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const [first = ''] = text.split('\n');
  return first.trim() || 'internal error';
}
