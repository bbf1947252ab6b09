import { existsSync } from "node:fs";
import { defaultPlaygroundDir, playgroundDown, playgroundState } from "@tessera/playground/lifecycle";
import { tesseraCommand } from "../invocation.js";
import { print } from "../output.js";
import type { Session } from "../session.js";
import { Spinner } from "../spinner.js";

export interface DownOptions {
  purge?: boolean;
}

/** Stops every playground process; data stays for the next `up` unless --purge. */
export async function down(session: Session, options: DownOptions): Promise<void> {
  const dir = defaultPlaygroundDir();
  if (!existsSync(dir)) {
    print(`There is no playground in ${dir}; nothing to stop.`);
    return;
  }
  const { running } = playgroundState(dir);
  if (!running && !options.purge) {
    print(
      `The playground is not running; its data stays in ${dir} (\`${tesseraCommand()} down --purge\` deletes it).`,
    );
    return;
  }
  const title = options.purge
    ? running
      ? "stopping the playground and deleting its data"
      : "deleting the playground's data"
    : "stopping the playground";
  await Spinner.run(session.style, title, () => playgroundDown(dir, options.purge ?? false));
  print(
    options.purge
      ? `The playground is gone; ${dir} is deleted.`
      : `The playground is stopped; its data stays in ${dir} and \`${tesseraCommand()} up\` resumes it.`,
  );
}
