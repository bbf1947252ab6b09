/**
 * Colour is for people at a terminal: only when stdout is a TTY, never with
 * NO_COLOR set (https://no-color.org) or `--no-color`.
 */
export function colorEnabled(flag: boolean): boolean {
  return flag && Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;
}

export class Style {
  constructor(readonly color: boolean) {}

  private paint(open: number, close: number, text: string): string {
    return this.color ? `\u001b[${open}m${text}\u001b[${close}m` : text;
  }

  bold = (text: string) => this.paint(1, 22, text);
  dim = (text: string) => this.paint(2, 22, text);
  red = (text: string) => this.paint(31, 39, text);
  green = (text: string) => this.paint(32, 39, text);
  yellow = (text: string) => this.paint(33, 39, text);

  /** Green for a healthy state, red for a broken one, yellow for anything in between. */
  state(text: string, health: "good" | "bad" | "pending"): string {
    return health === "good" ? this.green(text) : health === "bad" ? this.red(text) : this.yellow(text);
  }
}
