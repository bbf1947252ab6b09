import { killExec, spawnInSandbox, type SandboxExecOptions } from "../runtime/exec.js";

/** Runs a command in a container to completion (exec probes), killing it at the timeout. */
export function runInContainer(
  options: SandboxExecOptions,
  timeoutMs: number,
): Promise<{ exitCode: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawnInSandbox(options);
    child.stdin?.end();
    let output = "";
    const collect = (chunk: Buffer) => {
      output = (output + chunk.toString("utf8")).slice(-4096);
    };
    child.stdout?.on("data", collect);
    child.stderr?.on("data", collect);
    const timer = setTimeout(() => {
      killExec(child);
      resolve({ exitCode: -1, output: `command timed out after ${timeoutMs}ms` });
    }, timeoutMs);
    child.once("error", (error) => {
      clearTimeout(timer);
      resolve({ exitCode: 127, output: error.message });
    });
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ exitCode: code ?? 1, output });
    });
  });
}
