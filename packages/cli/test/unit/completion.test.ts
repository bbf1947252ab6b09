import { test } from "node:test";
import assert from "node:assert/strict";
import type { Option } from "commander";
import { complete, type WordContext } from "../../src/completion.js";
import { createCli } from "../../src/program.js";

const noDynamic = async () => [];

test("commands, subcommands and options complete from the command tree", async () => {
  const { program } = createCli();
  assert.deepEqual(await complete(program, ["cl"], noDynamic), ["cluster"]);
  assert.deepEqual(await complete(program, ["cluster", "d"], noDynamic), ["describe", "delete"]);
  assert.deepEqual(await complete(program, ["cluster", "list", "--all"], noDynamic), ["--all-namespaces"]);
  assert.ok((await complete(program, ["cluster", "create", "--"], noDynamic)).includes("--kubeconfig"));
  assert.deepEqual(await complete(program, ["addon", "list", "-o", ""], noDynamic), [
    "table",
    "json",
    "yaml",
  ]);
  assert.deepEqual(await complete(program, ["completion", ""], noDynamic), []);
  assert.ok(
    !(await complete(program, [""], noDynamic)).includes("__complete"),
    "hidden commands stay hidden",
  );
});

test("arguments and option values from the cluster get the typed context", async () => {
  const { program } = createCli();
  const seen: { context: WordContext; target: "argument" | Option }[] = [];
  const dynamic = async (context: WordContext, target: "argument" | Option) => {
    seen.push({ context, target });
    return ["demo", "other"];
  };
  assert.deepEqual(
    await complete(program, ["--kubeconfig", "/k", "cluster", "describe", "-n", "prod", "d"], dynamic),
    ["demo"],
  );
  assert.equal(seen[0]!.target, "argument");
  assert.equal(seen[0]!.context.command.name(), "describe");
  assert.equal(seen[0]!.context.values.get("--namespace"), "prod");
  assert.equal(seen[0]!.context.values.get("--kubeconfig"), "/k");
  await complete(program, ["cluster", "create", "postgresql", "pg", "--topology", ""], dynamic);
  assert.equal((seen[1]!.target as Option).long, "--topology");
  assert.deepEqual(seen[1]!.context.positionals, ["postgresql", "pg"]);
  await complete(program, ["cluster", "restore", "pg-copy", "--from", ""], dynamic);
  assert.equal((seen[2]!.target as Option).long, "--from");
  assert.equal(seen[2]!.context.command.name(), "restore");
});

test("backup verbs complete, their arguments from the cluster", async () => {
  const { program } = createCli();
  assert.deepEqual(await complete(program, ["backup", ""], noDynamic), [
    "create",
    "list",
    "describe",
    "delete",
  ]);
  const paths: string[] = [];
  const dynamic = async (context: WordContext) => {
    paths.push(`${context.command.parent!.name()} ${context.command.name()}`);
    return ["pg-20260304050607"];
  };
  assert.deepEqual(await complete(program, ["backup", "describe", "pg"], dynamic), ["pg-20260304050607"]);
  assert.deepEqual(paths, ["backup describe"]);
});
