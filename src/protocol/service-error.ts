/**
 * How a service call fails, the same over every transport: a code, one line for people, and — for bad input — the
 * fields at fault (`field` is a dotted path into the request, e.g. `config.sae.top_k`) so a form can mark them.
 */
import { z } from 'zod';

/**
 * `busy`: the store's write lock stayed taken by another process (a long save) for as long as the service retried;
 * nothing was changed, and the same call may simply be made again.
 */
export const ERROR_CODES = ['invalid_input', 'unknown_method', 'unauthorized', 'busy', 'internal'] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export const FieldIssueSchema = z.object({
  /** Dotted path into the request (`''` for the request as a whole). */
  field: z.string(),
  message: z.string().min(1),
});
export type FieldIssue = z.infer<typeof FieldIssueSchema>;

export const ServiceErrorDataSchema = z.object({
  code: z.enum(ERROR_CODES),
  /** One line. */
  message: z.string().min(1),
  issues: z.array(FieldIssueSchema).optional(),
});
export type ServiceErrorData = z.infer<typeof ServiceErrorDataSchema>;

/** The error a client throws (and a service implementation may throw) for a failed call. */
export class ServiceError extends Error {
  override name = 'ServiceError';
  readonly code: ErrorCode;
  readonly issues: FieldIssue[] | undefined;

  constructor(data: ServiceErrorData) {
    super(data.message);
    this.code = data.code;
    this.issues = data.issues;
  }

  static invalidInput(issues: FieldIssue[]): ServiceError {
    return new ServiceError({ code: 'invalid_input', message: summarizeIssues(issues), issues });
  }

  toData(): ServiceErrorData {
    return { code: this.code, message: this.message, ...(this.issues ? { issues: this.issues } : {}) };
  }
}

/** "field 'a.b': message" for the first issue, and how many more there are. */
export function summarizeIssues(issues: readonly FieldIssue[]): string {
  const first = issues[0];
  if (!first) return 'invalid input';
  const head = first.field === '' ? first.message : `field '${first.field}': ${first.message}`;
  return issues.length > 1 ? `${head} (and ${issues.length - 1} more)` : head;
}

/** The outcome of one call as it crosses a transport. */
export const CallResultSchema = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), result: z.unknown() }),
  z.object({ ok: z.literal(false), error: ServiceErrorDataSchema }),
]);
export type CallResult = z.infer<typeof CallResultSchema>;
