import type { Command, Option } from "commander";

export const SHELLS = ["bash", "zsh"] as const;
export type Shell = (typeof SHELLS)[number];

/**
 * Shell functions that ask the CLI itself for candidates (`tessera
 * __complete -- <words>`), so completion follows the commands, options and
 * the cluster's engines and clusters without a generated word list.
 */
export function completionScript(shell: Shell): string {
  if (shell === "bash") {
    return `# bash completion for tessera; load it with: source <(tessera completion bash)
_tessera_complete() {
  local IFS=$'\\n'
  COMPREPLY=($("\${COMP_WORDS[0]}" __complete -- "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null))
}
complete -o default -F _tessera_complete tessera
`;
  }
  return `#compdef tessera
# zsh completion for tessera; load it with: source <(tessera completion zsh) (after compinit)
_tessera() {
  local -a candidates
  candidates=("\${(@f)$(\${words[1]} __complete -- "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  candidates=(\${candidates:#})
  compadd -a candidates
}
compdef _tessera tessera
`;
}

/** Where the typed words lead: the command, its positional arguments so far, and option values seen. */
export interface WordContext {
  command: Command;
  positionals: string[];
  /** Values of options typed so far, by long name (e.g. "--namespace"). */
  values: Map<string, string>;
  /** The option whose value is being typed, if any. */
  pendingOption?: Option;
}

/** Supplies candidates that live in the cluster (engines, clusters, addons, topologies, versions). */
type DynamicCandidates = (context: WordContext, target: "argument" | Option) => Promise<string[]>;

function optionsInScope(command: Command): Option[] {
  const options: Option[] = [];
  for (let c: Command | null = command; c; c = c.parent) options.push(...c.options);
  return options;
}

function findOption(command: Command, flag: string): Option | undefined {
  return optionsInScope(command).find((o) => o.long === flag || o.short === flag);
}

/** Walks the words before the one being completed. */
function readWords(program: Command, words: string[]): WordContext {
  let command = program;
  const positionals: string[] = [];
  const values = new Map<string, string>();
  let pendingOption: Option | undefined;
  for (const word of words) {
    if (pendingOption) {
      values.set(pendingOption.long ?? pendingOption.short!, word);
      pendingOption = undefined;
      continue;
    }
    if (word.startsWith("-")) {
      const [flag, inline] = word.split("=", 2) as [string, string | undefined];
      const option = findOption(command, flag);
      if (option && (option.required || option.optional)) {
        if (inline !== undefined) values.set(option.long ?? flag, inline);
        else pendingOption = option;
      }
      continue;
    }
    const sub = command.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (sub && positionals.length === 0) command = sub;
    else positionals.push(word);
  }
  return { command, positionals, values, pendingOption };
}

/** Candidates for the last word, given the words before it. */
export async function complete(
  program: Command,
  words: string[],
  dynamic: DynamicCandidates,
): Promise<string[]> {
  const partial = words.at(-1) ?? "";
  const context = readWords(program, words.slice(0, -1));
  const matching = (candidates: string[]) => candidates.filter((c) => c.startsWith(partial));
  const { command, pendingOption } = context;
  if (pendingOption) {
    return matching(pendingOption.argChoices ?? (await dynamic(context, pendingOption).catch(() => [])));
  }
  const help = command.createHelp();
  if (partial.startsWith("-")) {
    const flags = optionsInScope(command)
      .filter((o) => !o.hidden)
      .flatMap((o) => [o.long, o.short])
      .filter((f): f is string => Boolean(f));
    return matching([...new Set([...flags, "--help"])]);
  }
  const subcommands = help.visibleCommands(command).map((c) => c.name());
  if (subcommands.length > 0) return matching(subcommands.filter((name) => name !== "help"));
  return matching(await dynamic(context, "argument").catch(() => []));
}
