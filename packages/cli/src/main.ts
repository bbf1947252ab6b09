import { CommanderError } from "commander";
import { EXIT_FAILURE, EXIT_USAGE, UsageError, oneLine } from "./errors.js";
import { createCli } from "./program.js";

const SHOWN_AND_DONE = new Set(["commander.helpDisplayed", "commander.version"]);

function exitCodeOf(error: unknown): number {
  if (error instanceof CommanderError) return SHOWN_AND_DONE.has(error.code) ? 0 : EXIT_USAGE;
  return error instanceof UsageError ? EXIT_USAGE : EXIT_FAILURE;
}

const { program, session } = createCli();
try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.exitCode = exitCodeOf(error);
  // Commander has already printed its own usage errors.
  if (!(error instanceof CommanderError)) process.stderr.write(`error: ${oneLine(session.explain(error))}\n`);
} finally {
  session.close();
}
