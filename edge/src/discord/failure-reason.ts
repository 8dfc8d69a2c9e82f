// Why a job failed, in words for the person who asked in Discord. A request error (4xx) is
// theirs and its message says what to change; an outage or a bug (5xx) is ours, and its
// details (gpu-worker addresses, stack traces) stay in the logs.
import type { ApiError } from '../http/api-error.ts';

const OURS: Readonly<Record<string, string>> = {
  gpu_unavailable: 'every GPU is busy or unreachable right now; please try again in a few minutes',
  gpu_timeout: 'the GPU did not finish in time; please try again, perhaps with fewer steps',
  gpu_rejected: 'the GPU refused the job; the operators have the details',
  gpu_bad_response: 'the GPU answered something unreadable; the operators have the details',
  image_missing: 'the image vanished from storage; please try again',
};

export function failureReason(error: ApiError): string {
  if (error.status < 500) return `Could not make this image: ${error.message}.`;
  return `Could not make this image: ${OURS[error.code] ?? 'something went wrong on our side; the operators have the details'}.`;
}

export const TOO_LATE =
  'Could not make this image in time: Discord lets a bot answer for 15 minutes, and the queue ' +
  'was too long to finish before then. Please try again.';
