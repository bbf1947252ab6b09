import ora, { type Ora } from "ora";
import { duration } from "./output.js";
import type { Style } from "./style.js";

/**
 * A step that takes a while. On a terminal it spins on stderr with live
 * detail; elsewhere (pipes, logs, CI) only each step's outcome is printed,
 * one line per step. Either way stdout stays clean for command output.
 */
export class Spinner {
  private readonly ora: Ora;
  private started = Date.now();

  constructor(
    private readonly style: Style,
    private title: string,
  ) {
    this.ora = ora({ text: title, stream: process.stderr, color: style.color ? "cyan" : false });
    if (this.ora.isEnabled) this.ora.start();
  }

  /** What is happening right now, shown after the title while spinning. */
  set detail(text: string) {
    this.ora.text = text ? `${this.title} ${this.style.dim(`(${text})`)}` : this.title;
  }

  /** Finishes the current step and starts timing the next one. */
  next(title: string): void {
    this.succeed();
    this.title = title;
    this.started = Date.now();
    this.ora.text = title;
    if (this.ora.isEnabled) this.ora.start();
  }

  succeed(title = this.title): void {
    const took = this.style.dim(duration(Date.now() - this.started));
    this.ora.stopAndPersist({ symbol: this.style.green("✔"), text: `${title} ${took}` });
  }

  fail(title = this.title): void {
    this.ora.stopAndPersist({ symbol: this.style.red("✖"), text: title });
  }

  /** Runs `work` under a spinner: ✔ with its duration on success, ✖ on failure (the error propagates). */
  static async run<T>(style: Style, title: string, work: (spinner: Spinner) => Promise<T>): Promise<T> {
    const spinner = new Spinner(style, title);
    try {
      const result = await work(spinner);
      spinner.succeed();
      return result;
    } catch (error) {
      spinner.fail();
      throw error;
    }
  }
}
