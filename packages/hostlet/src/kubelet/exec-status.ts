/** metav1.Status objects that end a remote command (the v4 channel protocol's error stream). */
export interface ExecStatus {
  metadata: Record<string, never>;
  status: "Success" | "Failure";
  message?: string;
  reason?: string;
  details?: { causes: { reason: string; message: string }[] };
}

export function exitStatus(command: string[], exitCode: number): ExecStatus {
  if (exitCode === 0) return { metadata: {}, status: "Success" };
  return {
    metadata: {},
    status: "Failure",
    message: `command terminated with non-zero exit code: error executing command [${command.join(" ")}], exit code ${exitCode}`,
    reason: "NonZeroExitCode",
    details: { causes: [{ reason: "ExitCode", message: String(exitCode) }] },
  };
}

export function errorStatus(message: string): ExecStatus {
  return { metadata: {}, status: "Failure", message, reason: "InternalError" };
}
