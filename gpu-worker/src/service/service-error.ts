// The gpu-worker's one error type: every failure a client can see has a code and an HTTP status,
// and becomes the shared JSON error shape `{"error": {"code", "message", "field"?}}`.

export class ServiceError extends Error {
  override name = 'ServiceError';

  constructor(
    readonly status: 400 | 401 | 404 | 409 | 413 | 415 | 500 | 503 | 504,
    readonly code: string,
    message: string,
    readonly options: { field?: string; retryAfterSeconds?: number } = {},
  ) {
    super(message);
  }

  toJSON() {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.options.field ? { field: this.options.field } : {}),
      },
    };
  }
}

export const cancelled = (jobId: string) => new ServiceError(409, 'cancelled', `job ${jobId} was cancelled`);
export const deadlineExceeded = (jobId: string, ms: number) =>
  new ServiceError(504, 'deadline_exceeded', `job ${jobId} did not finish within ${ms} ms`);
