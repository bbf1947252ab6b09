import { homedir } from "node:os";
import { join } from "node:path";

/** The playground's state directory: $TESSERA_HOME/playground, else ~/.tessera/playground. */
export function defaultPlaygroundDir(): string {
  return process.env.TESSERA_HOME
    ? join(process.env.TESSERA_HOME, "playground")
    : join(homedir(), ".tessera", "playground");
}
