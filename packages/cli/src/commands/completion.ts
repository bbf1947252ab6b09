import { Argument, type Command } from "commander";
import { SHELLS, complete, completionScript, type Shell } from "../completion.js";

export function registerCompletionCommands(program: Command): void {
  program
    .command("completion")
    .description("print a shell completion script: source <(tessera completion bash)")
    .addArgument(new Argument("<shell>", "shell to complete in").choices(SHELLS))
    .action((shell: Shell) => void process.stdout.write(completionScript(shell)));

  program
    .command("__complete", { hidden: true })
    .description("print completion candidates for the words after `--` (used by the completion scripts)")
    .argument("[words...]", "the words typed so far, the last one being completed")
    .action(async (words: string[]) => {
      const candidates = await complete(program, words.length ? words : [""], async (context, target) =>
        (await import("../completion-candidates.js")).clusterCandidates(context, target),
      );
      if (candidates.length) process.stdout.write(`${candidates.join("\n")}\n`);
    });
}
