// The edge's one error type. Every failure a client can see is thrown as an ApiError (a hono
// HTTPException, so hono's own middleware errors flow through the same path) and rendered once,
// by `renderError`, as `{"error": {"code", "message", "field"?, "rule"?}}` with its status and headers.
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

export type ErrorStatus =
  | 400
  | 401
  | 403
  | 404
  | 405
  | 409
  | 410
  | 413
  | 415
  | 416
  | 429
  | 500
  | 502
  | 503
  | 504;

export interface ErrorOptions {
  /** The request field at fault, as a path (`width`, `prompt`, `images[0]`). */
  field?: string;
  /** The policy rule that refused the request (`prompt_blocked`), by its configured name. */
  rule?: string;
  /** Extra response headers, e.g. Retry-After or WWW-Authenticate. */
  headers?: Record<string, string>;
  cause?: unknown;
}

export interface ErrorBody {
  error: { code: string; message: string; field?: string; rule?: string };
}

export class ApiError extends HTTPException {
  override readonly name = 'ApiError';

  constructor(
    override readonly status: ErrorStatus,
    readonly code: string,
    message: string,
    readonly options: ErrorOptions = {},
  ) {
    super(status, { message, cause: options.cause });
  }

  toJSON(): ErrorBody {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.options.field ? { field: this.options.field } : {}),
        ...(this.options.rule ? { rule: this.options.rule } : {}),
      },
    };
  }
}

/** Codes for statuses hono's own middleware may throw without one. */
const CODE_BY_STATUS: Record<number, string> = {
  400: 'invalid_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
};

export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof HTTPException && error.status < 500) {
    return new ApiError(
      error.status as ErrorStatus,
      CODE_BY_STATUS[error.status] ?? 'error',
      error.message || 'request refused',
    );
  }
  return new ApiError(500, 'internal', 'internal error', { cause: error });
}

export function renderError(c: Context, error: ApiError): Response {
  for (const [name, value] of Object.entries(error.options.headers ?? {})) c.header(name, value);
  c.header('Cache-Control', 'no-store');
  return c.json(error.toJSON(), error.status as ContentfulStatusCode);
}
