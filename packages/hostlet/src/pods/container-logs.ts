import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";

/**
 * A pod's container logs: one file per container run
 * (`<podDir>/logs/<container>/<restartCount>.log`), of which the current
 * and the previous run are kept, for `kubectl logs` and `--previous`.
 */
export class ContainerLogs {
  constructor(private readonly podDir: string) {}

  private file(container: string, run: number): string {
    return join(this.podDir, "logs", container, `${run}.log`);
  }

  /** The file for a new run; older runs than the one before it are removed. */
  forRun(container: string, run: number): string {
    const dir = join(this.podDir, "logs", container);
    mkdirSync(dir, { recursive: true });
    for (const entry of readdirSync(dir)) {
      const n = Number(entry.replace(/\.log$/, ""));
      if (Number.isInteger(n) && n < run - 1) rmSync(join(dir, entry), { force: true });
    }
    return this.file(container, run);
  }

  /** The current run's file and the previous run's, where they exist. */
  files(container: string, run: number): { current?: string; previous?: string } {
    const current = this.file(container, run);
    const previous = this.file(container, run - 1);
    return {
      current: existsSync(current) ? current : undefined,
      previous: run > 0 && existsSync(previous) ? previous : undefined,
    };
  }

  tail(container: string, run: number, lines: number): string {
    const file = this.file(container, run);
    if (!existsSync(file)) return "";
    return readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
  }
}
