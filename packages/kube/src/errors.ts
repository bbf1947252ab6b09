/** A non-2xx answer from the Kubernetes API, carrying the apiserver's Status reason and message. */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly reason: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

const hasStatus = (error: unknown, code: number): boolean =>
  error instanceof ApiError && error.statusCode === code;

export const isNotFound = (error: unknown): boolean => hasStatus(error, 404);
export const isConflict = (error: unknown): boolean => hasStatus(error, 409);
export const isGone = (error: unknown): boolean => hasStatus(error, 410);
export const isAlreadyExists = (error: unknown): boolean =>
  error instanceof ApiError && error.statusCode === 409 && error.reason === "AlreadyExists";

/** The error message without a stack, safe for status conditions and logs. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
