import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import type { V1Pod } from "@kubernetes/client-node";
import { lifecycleActions, type InstanceSet } from "@tessera/api";
import {
  REFERENCE_BEGIN,
  REFERENCE_END,
  accountEnv,
  componentEnv,
  componentFacts,
  customOpsEnv,
  CUSTOM_OPS_PARAMETER_PREFIX,
  failoverEnv,
  lifecycleContract,
  memberJoinEnv,
  memberLeaveEnv,
  parseRoleProbeOutput,
  podEnv,
  reconfigureEnv,
  renderReference,
  switchoverEnv,
  targetPodEnv,
  variables,
  withReference,
} from "../../src/actions/contract/index.js";

const root = fileURLToPath(new URL("../../../../", import.meta.url));
const roles = [
  { name: "primary", updatePriority: 2, writable: true },
  { name: "secondary", updatePriority: 1 },
];
const headless = "db-pg-headless";
const set = {
  spec: { actionEnv: [{ name: "TESSERA_CLUSTER_NAME", value: "db" }] },
} as unknown as InstanceSet;
const scope = componentEnv("ns", headless, set);
const fqdn = (pod: string) => `${pod}.${headless}.ns.svc.cluster.local`;

test("the contract covers exactly the lifecycle actions the schema accepts", () => {
  assert.deepEqual(Object.keys(lifecycleContract).sort(), Object.keys(lifecycleActions.shape).sort());
});

test("every TESSERA_* variable an addon reads is declared by the contract", () => {
  const declared = new Set(Object.values(variables).flatMap((g) => g.variables.map((v) => v.name)));
  const files = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory() ? files(join(dir, entry.name)) : [join(dir, entry.name)],
    );
  const addonFiles = [
    ...files(join(root, "addons")),
    ...files(join(root, "packages/operator/test/fixtures/addons")),
  ];
  const read = new Set(addonFiles.flatMap((f) => readFileSync(f, "utf8").match(/TESSERA_[A-Z0-9_]+/g) ?? []));
  assert.ok(read.size > 10, "the scan found the addons' variables");
  assert.deepEqual(
    [...read].filter((name) => !declared.has(name as never) && !name.startsWith(CUSTOM_OPS_PARAMETER_PREFIX)),
    [],
    "variables read by addons but missing from the contract",
  );
});

test("a custom operation gets its name, its OpsRequest, its parameters as JSON and each declared one in a variable of its own", () => {
  assert.deepEqual(
    {
      ...customOpsEnv(scope, {
        name: "vacuum-analyze",
        request: "db-vacuum",
        declared: ["database", "table"],
        given: { database: "app; drop table x" },
      }),
    },
    {
      TESSERA_CLUSTER_NAME: "db",
      TESSERA_OPS_NAME: "vacuum-analyze",
      TESSERA_OPS_REQUEST_NAME: "db-vacuum",
      TESSERA_OPS_PARAMETERS: '{"database":"app; drop table x"}',
      TESSERA_PARAM_DATABASE: "app; drop table x",
      TESSERA_PARAM_TABLE: "",
    },
  );
});

test("component facts name the cluster, the component and every wanted instance", () => {
  assert.deepEqual(
    componentFacts({
      cluster: "db",
      namespace: "ns",
      shortName: "pg",
      fullName: "db-pg",
      headlessService: headless,
      pods: ["db-pg-0", "db-pg-1"],
    }),
    {
      TESSERA_CLUSTER_NAME: "db",
      TESSERA_NAMESPACE: "ns",
      TESSERA_COMP_NAME: "pg",
      TESSERA_FULL_COMP_NAME: "db-pg",
      TESSERA_COMP_REPLICAS: "2",
      TESSERA_HEADLESS_SERVICE: headless,
      TESSERA_POD_NAME_LIST: "db-pg-0,db-pg-1",
      TESSERA_POD_FQDN_LIST: `${fqdn("db-pg-0")},${fqdn("db-pg-1")}`,
    },
  );
});

test("containers get their name and IP from the downward API, and an FQDN built from the name", () => {
  assert.deepEqual(podEnv(headless, "ns"), [
    { name: "TESSERA_POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
    { name: "TESSERA_POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
    { name: "TESSERA_POD_FQDN", value: `$(TESSERA_POD_NAME).${headless}.ns.svc.cluster.local` },
  ]);
});

test("an action gets the variables of the instance it runs in", () => {
  const pod: V1Pod = {
    metadata: { name: "db-pg-1" },
    spec: { subdomain: headless, containers: [] },
    status: { podIP: "127.1.0.7" },
  };
  assert.deepEqual(targetPodEnv(pod, "ns"), {
    TESSERA_POD_NAME: "db-pg-1",
    TESSERA_POD_IP: "127.1.0.7",
    TESSERA_POD_FQDN: fqdn("db-pg-1"),
  });
});

test("the component's action environment is the InstanceSet's actionEnv, empty without one", () => {
  assert.deepEqual({ ...scope.base }, { TESSERA_CLUSTER_NAME: "db" });
  assert.deepEqual({ ...componentEnv("ns", headless, undefined).base }, {});
});

test("each action's builder adds its own variables to the component's", () => {
  const base = { TESSERA_CLUSTER_NAME: "db" };
  assert.deepEqual(
    { ...accountEnv(scope, { name: "app", password: "s3cret" }) },
    {
      ...base,
      TESSERA_ACCOUNT_NAME: "app",
      TESSERA_ACCOUNT_PASSWORD: "s3cret",
      TESSERA_ACCOUNT_STATEMENT: "",
    },
  );
  assert.deepEqual(
    { ...reconfigureEnv(scope, { max_connections: "200", work_mem: "" }) },
    { ...base, TESSERA_CONFIG_PARAMETERS: '{"max_connections":"200","work_mem":""}' },
  );
  assert.deepEqual(
    { ...memberJoinEnv(scope, "db-pg-2") },
    { ...base, TESSERA_JOIN_MEMBER_POD_NAME: "db-pg-2", TESSERA_JOIN_MEMBER_POD_FQDN: fqdn("db-pg-2") },
  );
  assert.deepEqual(
    { ...memberLeaveEnv(scope, "db-pg-2") },
    { ...base, TESSERA_LEAVE_MEMBER_POD_NAME: "db-pg-2", TESSERA_LEAVE_MEMBER_POD_FQDN: fqdn("db-pg-2") },
  );
});

test("a switchover names the stepping-down primary twice and the candidate, empty when there is none", () => {
  assert.deepEqual(
    { ...switchoverEnv(scope, "db-pg-0", "db-pg-1") },
    {
      TESSERA_CLUSTER_NAME: "db",
      TESSERA_PRIMARY_POD_NAME: "db-pg-0",
      TESSERA_PRIMARY_POD_FQDN: fqdn("db-pg-0"),
      TESSERA_OLD_PRIMARY_POD_NAME: "db-pg-0",
      TESSERA_OLD_PRIMARY_POD_FQDN: fqdn("db-pg-0"),
      TESSERA_CANDIDATE_POD_NAME: "db-pg-1",
      TESSERA_CANDIDATE_POD_FQDN: fqdn("db-pg-1"),
    },
  );
  const alone = switchoverEnv(scope, "db-pg-0", undefined);
  assert.equal(alone.TESSERA_CANDIDATE_POD_NAME, "");
  assert.equal(alone.TESSERA_CANDIDATE_POD_FQDN, "");
});

test("failover actions get the recorded primary, the one it replaced and the epoch", () => {
  assert.deepEqual(
    { ...failoverEnv(scope, { epoch: 3, primary: "db-pg-1", oldPrimary: "db-pg-0" }) },
    {
      TESSERA_CLUSTER_NAME: "db",
      TESSERA_EPOCH: "3",
      TESSERA_PRIMARY_POD_NAME: "db-pg-1",
      TESSERA_PRIMARY_POD_FQDN: fqdn("db-pg-1"),
      TESSERA_OLD_PRIMARY_POD_NAME: "db-pg-0",
      TESSERA_OLD_PRIMARY_POD_FQDN: fqdn("db-pg-0"),
    },
  );
  const first = failoverEnv(scope, {});
  assert.equal(first.TESSERA_EPOCH, "0");
  assert.equal(first.TESSERA_PRIMARY_POD_FQDN, "");
  assert.equal(first.TESSERA_OLD_PRIMARY_POD_NAME, "");
});

test("roleProbe prints `<role> [<position>]`; unknown roles and empty output are failures", () => {
  assert.deepEqual(parseRoleProbeOutput("primary 1234\n", roles), {
    ok: true,
    role: "primary",
    position: 1234,
  });
  assert.deepEqual(parseRoleProbeOutput("  secondary  \nnoise", roles), { ok: true, role: "secondary" });
  assert.deepEqual(parseRoleProbeOutput("secondary n/a", roles), { ok: true, role: "secondary" });
  assert.deepEqual(parseRoleProbeOutput("leader", []), { ok: true, role: "leader" });
  assert.equal(parseRoleProbeOutput("", roles).ok, false);
  assert.match(parseRoleProbeOutput("\n\n", roles).error ?? "", /printed nothing/);
  assert.match(parseRoleProbeOutput("leader", roles).error ?? "", /unknown role "leader"/);
});

test("docs/addons.md carries exactly the rendered contract (run `npm run generate:docs` after changing it)", () => {
  const document = readFileSync(join(root, "docs/addons.md"), "utf8");
  assert.ok(document.includes(REFERENCE_BEGIN) && document.includes(REFERENCE_END), "the markers are there");
  assert.equal(document, withReference(document, renderReference()));
});

test("the reference names every action and every variable", () => {
  const reference = renderReference();
  for (const name of Object.keys(lifecycleContract))
    assert.match(reference, new RegExp(`^### ${name}$`, "m"));
  for (const group of Object.values(variables))
    for (const v of group.variables) assert.ok(reference.includes(`\`${v.name}\``), v.name);
});

test("the reference section is replaced between its markers, and a document without them is refused", () => {
  const document = `intro\n${REFERENCE_BEGIN}\nold\n${REFERENCE_END}\noutro\n`;
  assert.equal(withReference(document, "new"), `intro\n${REFERENCE_BEGIN}\nnew\n${REFERENCE_END}\noutro\n`);
  assert.throws(() => withReference("no markers", "new"), /contract:begin/);
});
