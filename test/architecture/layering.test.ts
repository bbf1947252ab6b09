import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { runCommand } from "@tessera/base";
import { testRoot } from "@tessera/testing";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const PACKAGES = join(ROOT, "packages");

interface PackageFacts {
  dir: string;
  name: string;
  /** @tessera packages listed in dependencies. */
  declared: Set<string>;
  /** @tessera packages its src tsconfig references. */
  referenced: Set<string>;
  /** @tessera packages its src files import. */
  imported: Set<string>;
}

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, "utf8")) as T;
}

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((file) => file.endsWith(".ts"))
    .map((file) => join(dir, file));
}

function packageFacts(): Map<string, PackageFacts> {
  const byDir = new Map<string, string>();
  for (const dir of readdirSync(PACKAGES)) {
    byDir.set(resolve(PACKAGES, dir), readJson<{ name: string }>(join(PACKAGES, dir, "package.json")).name);
  }
  const facts = new Map<string, PackageFacts>();
  for (const [dir, name] of byDir) {
    const pkg = readJson<{ dependencies?: Record<string, string> }>(join(dir, "package.json"));
    const declared = new Set(Object.keys(pkg.dependencies ?? {}).filter((d) => d.startsWith("@tessera/")));
    const tsconfig = join(dir, "tsconfig.json");
    const references = existsSync(tsconfig)
      ? (readJson<{ references?: { path: string }[] }>(tsconfig).references ?? [])
      : [];
    const referenced = new Set(references.map((r) => byDir.get(resolve(dir, r.path)) ?? r.path));
    const imported = new Set<string>();
    for (const file of sourceFiles(join(dir, "src"))) {
      for (const match of readFileSync(file, "utf8").matchAll(/from "(@tessera\/[a-z-]+)[^"]*"/g)) {
        if (match[1] !== name) imported.add(match[1]!);
      }
    }
    facts.set(name, { dir, name, declared, referenced, imported });
  }
  return facts;
}

test("every package imports only what it declares, and its tsconfig references exactly its declared imports", () => {
  for (const pkg of packageFacts().values()) {
    for (const dependency of pkg.imported) {
      assert.ok(pkg.declared.has(dependency), `${pkg.name} imports ${dependency} without declaring it`);
      assert.ok(
        pkg.referenced.has(dependency),
        `${pkg.name} imports ${dependency} but its tsconfig does not reference it`,
      );
    }
    for (const reference of pkg.referenced) {
      assert.ok(
        pkg.declared.has(reference),
        `${pkg.name}'s tsconfig references ${reference}, not a dependency`,
      );
    }
  }
});

test("the package graph has no cycle", () => {
  const facts = packageFacts();
  const state = new Map<string, "visiting" | "done">();
  const visit = (name: string, path: string[]): void => {
    if (state.get(name) === "done") return;
    assert.notEqual(state.get(name), "visiting", `package cycle: ${[...path, name].join(" → ")}`);
    state.set(name, "visiting");
    for (const dependency of facts.get(name)?.declared ?? []) visit(dependency, [...path, name]);
    state.set(name, "done");
  };
  for (const name of facts.keys()) visit(name, []);
});

/**
 * A throwaway project shaped like the hostlet's (its references, its compiler options) holding one
 * probe file; the compiler decides whether the probe's import respects the layering.
 */
async function compileLikeHostlet(probe: string): Promise<{ code: number; output: string }> {
  const dir = mkdtempSync(join(testRoot(), "layering-"));
  try {
    const hostlet = join(PACKAGES, "hostlet");
    const references = readJson<{ references: { path: string }[] }>(
      join(hostlet, "tsconfig.json"),
    ).references;
    writeFileSync(join(dir, "probe.ts"), probe);
    writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module" }));
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({
        extends: join(ROOT, "tsconfig.base.json"),
        compilerOptions: {
          rootDir: dir,
          outDir: join(dir, "out"),
          tsBuildInfoFile: join(dir, "out", "info"),
          typeRoots: [join(ROOT, "node_modules", "@types")],
        },
        files: [join(dir, "probe.ts")],
        references: references.map((r) => ({ path: resolve(hostlet, r.path) })),
      }),
    );
    const result = await runCommand(join(ROOT, "node_modules", ".bin", "tsc"), ["-b", dir], {
      cwd: ROOT,
      timeoutMs: 300_000,
    });
    return { code: result.code, output: result.stdout + result.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("tsc -b accepts an import along the layering and refuses one against it", async () => {
  const allowed = await compileLikeHostlet(
    'import { waitFor } from "@tessera/kube";\nexport const probe = waitFor;\n',
  );
  assert.equal(allowed.code, 0, allowed.output);

  const reverse = await compileLikeHostlet(
    'import { Playground } from "@tessera/playground";\nexport const probe = Playground;\n',
  );
  assert.notEqual(reverse.code, 0, "a hostlet-shaped project compiled an import of the playground");
  assert.match(
    reverse.output,
    /packages\/playground\/src\/.*(TS6307|TS6059)|(TS6307|TS6059)[\s\S]*packages\/playground/,
  );
});
