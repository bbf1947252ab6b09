import {
  actionRules,
  customOpsContract,
  lifecycleContract,
  targetSelectors,
  type ActionContract,
} from "./actions.js";
import { variables, type VariableGroup } from "./environment.js";

export const REFERENCE_BEGIN = "<!-- contract:begin -->";
export const REFERENCE_END = "<!-- contract:end -->";

/** Table cells hold inline text: a pipe would end the cell. */
const cell = (text: string) => text.replace(/\|/g, "\\|");

function table(group: VariableGroup): string[] {
  return [
    "| variable | meaning |",
    "| --- | --- |",
    ...group.variables.map((v) => `| \`${v.name}\` | ${cell(v.meaning)} |`),
  ];
}

function action(name: string, contract: ActionContract): string[] {
  const lines = [`### ${name}`, "", contract.purpose, ""];
  if (!contract.runs)
    return [...lines, "Declared in the schema; this version of the operator does not run it.", ""];
  lines.push(`- **Runs:** ${contract.runs}`, `- **In:** ${contract.target}`);
  const format = contract.output.format ? `\`${contract.output.format}\`. ` : "";
  lines.push(`- **Output:** ${format}${contract.output.description}`);
  lines.push(
    `- **Exit 0:** ${contract.exitCodes.success}`,
    `- **Failure:** ${contract.exitCodes.failure}`,
    "",
  );
  if (contract.env.length === 0) {
    lines.push("Environment: the variables every action gets, nothing more.", "");
    return lines;
  }
  for (const { group, when } of contract.env) {
    const title = variables[group].title;
    lines.push(`Environment${when ? ` ${when}` : ""}: every action's, and ${title.toLowerCase()}:`, "");
    lines.push(...table(variables[group]), "");
  }
  return lines;
}

/** The reference section of docs/addons.md, rendered from the contract module. */
export function renderReference(): string {
  const lines = [
    "<!-- Generated from packages/operator/src/actions/contract by `npm run generate:docs`: edit the module, not this section. -->",
    "",
    "### Environment of an instance",
    "",
    "Every container of an instance gets the instance's own variables:",
    "",
    ...table(variables.pod),
    "",
    "the component's (through its `<cluster>-<component>-env` ConfigMap, read when the container starts):",
    "",
    ...table(variables.component),
    "",
    "and the definition's `vars`: credentials (`credentialVarRef`) as Secret references, the others through the same ConfigMap.",
    "",
    "### Environment of an action",
    "",
    "Every action gets, in this order, later ones winning: its own `exec.env`; the component's variables and the " +
      "definition's non-secret `vars` (those resolved empty are left out); and the instance it runs in " +
      "(`TESSERA_POD_NAME`, `TESSERA_POD_IP`, `TESSERA_POD_FQDN`, as above). Some actions get more, listed with them.",
    "",
    "### Running an action",
    "",
    ...actionRules.map((rule) => `- ${rule}`),
    "",
    "Where it runs (`targetPodSelector`), for the actions that say so:",
    "",
    "| selector | instances |",
    "| --- | --- |",
    ...Object.entries(targetSelectors).map(([selector, meaning]) => `| \`${selector}\` | ${cell(meaning)} |`),
    "",
    ...Object.entries(lifecycleContract).flatMap(([name, contract]) => action(name, contract)),
    ...action("customOps", customOpsContract),
    "### Backup, restore and log archiving",
    "",
    "A backup method's `command` runs in a backup pod with the engine container's image, environment and " +
      "non-data volumes and writes the backup to stdout; it also gets:",
    "",
    ...table(variables.backup),
    "",
    "Its `restore.command` runs before the engine starts, with the instance's volumes, and gets:",
    "",
    ...table(variables.restore),
    "",
    "With a log archive, the engine's container gets:",
    "",
    ...table(variables.logArchive),
    "",
  ];
  return lines.join("\n");
}

/** `document` with its reference section replaced by `reference`. */
export function withReference(document: string, reference: string): string {
  const begin = document.indexOf(REFERENCE_BEGIN);
  const end = document.indexOf(REFERENCE_END);
  if (begin < 0 || end < begin)
    throw new Error(`the document has no ${REFERENCE_BEGIN} … ${REFERENCE_END} section`);
  return `${document.slice(0, begin + REFERENCE_BEGIN.length)}\n${reference}\n${document.slice(end)}`;
}
