import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { V1Node } from "@kubernetes/client-node";
import { parse } from "yaml";
import { API_VERSION, type Tenant } from "@tessera/api";
import { waitFor, type KubernetesObject } from "@tessera/kube";
import { opsManifest } from "../../../../test/support/ops.js";
import type { TestPlatform } from "../../../../test/support/platform.js";
import { STORAGE_CLASS, startOperatorEnv } from "../fixtures/env.js";

// Every bad input is refused at `kubectl apply` time, by the CRD schema or
// the webhook, with a message naming the field and the fix, and leaves
// nothing behind. One platform serves the whole table; cases run in order.

/** What a case's manifests may refer to. */
interface CaseContext {
  namespace: string;
  env: TestPlatform;
}

interface BadInputCase {
  name: string;
  /** Kind of the refused object (for the table's readers; the manifest says it too). */
  kind: string;
  /** Applied first and must succeed (an update case creates the object it then changes); or a hook. */
  setup?: string | ((ctx: CaseContext) => Promise<void>);
  /** The manifest `kubectl apply` must refuse. */
  apply: string;
  /** The field path the refusal must name. */
  field: string;
  /** A fragment of the message saying what is wrong or how to fix it. */
  message: string;
  /** Undoes a setup hook's change to shared objects. */
  cleanup?: (ctx: CaseContext) => Promise<void>;
}

const NODE = "bad-input-node";
const NODE_MEMORY = "24Gi";
const OTHER_CLASS = "bad-input-other";
const NS = "__NS__";

let env: TestPlatform;
let namespace: string;
let heartbeat: NodeJS.Timeout | undefined;

function readyCondition(): NonNullable<NonNullable<V1Node["status"]>["conditions"]>[number] {
  const now = new Date().toISOString();
  return {
    type: "Ready",
    status: "True",
    reason: "KubeletReady",
    message: "heartbeat from the test",
    lastHeartbeatTime: now as unknown as Date,
    lastTransitionTime: now as unknown as Date,
  };
}

/** A kv cluster of one component; `component` lines replace the component's body. */
function kv(name: string, component = "", spec = "  clusterDef: kv\n  topology: standalone\n"): string {
  return `apiVersion: tessera.dev/v1alpha1
kind: Cluster
metadata: { name: ${name}, namespace: ${NS} }
spec:
${spec}  terminationPolicy: Delete
  componentSpecs:
    - name: kv
${component || defaultComponent()}`;
}

function defaultComponent(
  options: { resources?: string; storage?: string; storageClass?: string; extra?: string } = {},
): string {
  return `      replicas: 1
      resources: ${options.resources ?? '{ limits: { cpu: "500m", memory: 256Mi } }'}
      volumeClaimTemplates:
        - name: data
          spec: { storageClassName: ${options.storageClass ?? STORAGE_CLASS}, resources: { requests: { storage: ${options.storage ?? "1Gi"} } } }
${options.extra ?? ""}`;
}

/** A cluster without a ClusterDefinition: its components are the ones listed. */
function bare(name: string, components: string[]): string {
  return `apiVersion: tessera.dev/v1alpha1
kind: Cluster
metadata: { name: ${name}, namespace: ${NS} }
spec:
  terminationPolicy: Delete
  componentSpecs:
${components.map((c) => `    - { name: ${c}, componentDef: kv-1, replicas: 1 }`).join("\n")}
`;
}

const clusterDefinition = (name: string, topologies: string) => `apiVersion: tessera.dev/v1alpha1
kind: ClusterDefinition
metadata: { name: ${name} }
spec:
${topologies}`;

function componentDefinition(name: string, spec: Record<string, string> = {}): string {
  const fields = {
    serviceKind: "kv",
    runtime: "{ containers: [{ name: kv, image: busybox }] }",
    ...spec,
  };
  return `apiVersion: tessera.dev/v1alpha1
kind: ComponentDefinition
metadata: { name: ${name} }
spec:
${Object.entries(fields)
  .filter(([, value]) => value !== "")
  .map(([key, value]) => `  ${key}: ${value}`)
  .join("\n")}
`;
}

const componentVersion = (name: string, spec: string) => `apiVersion: tessera.dev/v1alpha1
kind: ComponentVersion
metadata: { name: ${name} }
spec:
${spec}`;

const validVersionSpec = `  compatibilityRules: [{ compDefs: ["kv-"], releases: [r1] }]
  releases: [{ name: r1, serviceVersion: "1", images: { kv: busybox } }]
`;

/** Marks the shared StorageClass as the default, or as not (then the cluster has none). */
async function setDefaultClass(ctx: CaseContext, isDefault: boolean): Promise<void> {
  await ctx.env.client.patch(
    { apiVersion: "storage.k8s.io/v1", kind: "StorageClass", name: STORAGE_CLASS },
    { metadata: { annotations: { "storageclass.kubernetes.io/is-default-class": String(isDefault) } } },
    "merge",
  );
}

/** The cluster the OpsRequest cases act on; each case sets it up and removes it, so it never outlives one. */
const OPS_TARGET = "ops-target";

function ops(name: string, type: string, body = "", cluster = OPS_TARGET): string {
  return opsManifest(NS, name, cluster, type, body);
}

/** Sets up the target cluster, and with it the manifests given (an OpsRequest an update case changes). */
function withOpsTarget(...manifests: string[]) {
  return async (ctx: CaseContext) => {
    for (const manifest of [kv(OPS_TARGET), ...manifests])
      await ctx.env.apply(manifest.replaceAll(NS, ctx.namespace));
  };
}

async function removeOpsTarget(ctx: CaseContext): Promise<void> {
  await ctx.env.client.delete({
    apiVersion: API_VERSION,
    kind: "Cluster",
    namespace: ctx.namespace,
    name: OPS_TARGET,
  });
}

async function dryRunRefusal(manifest: string): Promise<string | undefined> {
  const result = await env.cluster.kubectl(["apply", "--dry-run=server", "-f", "-"], { input: manifest });
  return result.code === 0 ? undefined : result.stderr;
}

const noDefaultProbe = () =>
  kv(
    "probe-default",
    `      replicas: 1
      volumeClaimTemplates:
        - { name: data, spec: { resources: { requests: { storage: 1Gi } } } }
`,
  ).replaceAll(NS, namespace);

const QUOTA_TENANT = "bad-input-quota";
const QUOTA = "quota: { memory: 512Mi, clusters: 1 }";
const ADDONS_TENANT = "bad-input-addons";
const BACKUP_TENANT = "bad-input-backup";

const cases: BadInputCase[] = [
  // The five holes this table was started for.
  {
    name: "a malformed memory quantity",
    kind: "Cluster",
    apply: kv("mem-123", defaultComponent({ resources: "{ limits: { cpu: 500m, memory: 1.2.3Gi } }" })),
    field: "spec.componentSpecs[0].resources.limits.memory",
    message: "should match",
  },
  {
    name: "a StorageClass that does not exist",
    kind: "Cluster",
    apply: kv("no-class", defaultComponent({ storageClass: "gold" })),
    field: "spec.componentSpecs[0].volumeClaimTemplates[0].spec.storageClassName",
    message: `StorageClass "gold" not found; use one of`,
  },
  {
    name: "a change of storageClassName on an existing cluster",
    kind: "Cluster",
    setup: kv("move-class"),
    apply: kv("move-class", defaultComponent({ storageClass: OTHER_CLASS })),
    field: "spec.componentSpecs[0].volumeClaimTemplates[0].spec.storageClassName",
    message: `is immutable (was "${STORAGE_CLASS}"); volumes cannot move to another StorageClass, set it back to "${STORAGE_CLASS}"`,
  },
  {
    name: "more memory than the largest node can allocate",
    kind: "Cluster",
    apply: kv("huge-memory", defaultComponent({ resources: "{ limits: { cpu: 500m, memory: 10Ti } }" })),
    field: "spec.componentSpecs[0].resources.limits.memory",
    message: `is more than any node can allocate (the largest, "${NODE}", has ${NODE_MEMORY} memory); request at most ${NODE_MEMORY}`,
  },
  {
    name: "requests above limits",
    kind: "Cluster",
    apply: kv(
      "over-limit",
      defaultComponent({ resources: "{ requests: { memory: 1Gi }, limits: { memory: 256Mi } }" }),
    ),
    field: "spec.componentSpecs[0].resources.requests.memory",
    message: "1Gi is above the limit 256Mi; lower the request or raise resources.limits.memory",
  },

  // Clusters refused by the CRD schema.
  {
    name: "a CPU quantity with a made-up unit",
    kind: "Cluster",
    apply: kv("cpu-unit", defaultComponent({ resources: "{ requests: { cpu: 10XB } }" })),
    field: "spec.componentSpecs[0].resources.requests.cpu",
    message: "should match",
  },
  {
    name: "a negative volume size",
    kind: "Cluster",
    apply: kv("neg-storage", defaultComponent({ storage: "-1Gi" })),
    field: "spec.componentSpecs[0].volumeClaimTemplates[0].spec.resources.requests.storage",
    message: "should match",
  },
  {
    name: "negative replicas",
    kind: "Cluster",
    apply: kv("neg-replicas", defaultComponent().replace("replicas: 1", "replicas: -1")),
    field: "spec.componentSpecs[0].replicas",
    message: "should be greater than or equal to 0",
  },
  {
    name: "an unknown termination policy",
    kind: "Cluster",
    apply: kv("policy").replace("terminationPolicy: Delete", "terminationPolicy: Sometimes"),
    field: "spec.terminationPolicy",
    message: 'supported values: "DoNotTerminate", "Delete", "WipeOut"',
  },
  {
    name: "a component name that is not a DNS label",
    kind: "Cluster",
    apply: kv("upper-name").replace("- name: kv", "- name: KV_1"),
    field: "spec.componentSpecs[0].name",
    message: "should match",
  },
  {
    name: "no components",
    kind: "Cluster",
    apply: kv("empty").replace(/ {2}componentSpecs:[\s\S]*$/, "  componentSpecs: []\n"),
    field: "spec.componentSpecs",
    message: "should have at least 1 items",
  },
  {
    name: "a volume claim template without a size",
    kind: "Cluster",
    apply: kv("no-size", defaultComponent()).replace(
      "resources: { requests: { storage: 1Gi } }",
      "resources: {}",
    ),
    field: "spec.componentSpecs[0].volumeClaimTemplates[0].spec.resources.requests",
    message: "Required value",
  },

  // Clusters refused by the webhook.
  {
    name: "a negative memory amount written as a number",
    kind: "Cluster",
    apply: kv("neg-number", defaultComponent({ resources: "{ limits: { memory: -1 } }" })),
    field: "spec.componentSpecs[0].resources.limits.memory",
    message: "-1 is negative; resource amounts are 0 or more",
  },
  {
    name: "a topology the ClusterDefinition lacks",
    kind: "Cluster",
    apply: kv("ring", "", "  clusterDef: kv\n  topology: ring\n"),
    field: "spec.topology",
    message: 'allowed: "replication", "standalone"',
  },
  {
    name: "a ClusterDefinition that is not installed",
    kind: "Cluster",
    apply: kv("nosql", "", "  clusterDef: nosql\n  topology: standalone\n"),
    field: "spec.clusterDef",
    message: 'ClusterDefinition "nosql" not found; installed: "kv"',
  },
  {
    name: "replicas beyond the ComponentDefinition's limit",
    kind: "Cluster",
    apply: kv("too-many", defaultComponent().replace("replicas: 1", "replicas: 9")),
    field: "spec.componentSpecs[0].replicas",
    message: 'is outside 1..7 allowed by ComponentDefinition "kv-1"',
  },
  {
    name: "a service version no ComponentVersion offers",
    kind: "Cluster",
    apply: kv("bad-version", defaultComponent({ extra: '      serviceVersion: "9.9"\n' })),
    field: "spec.componentSpecs[0].serviceVersion",
    message: 'offered: "1.1", "1.0"',
  },
  {
    name: "a component the topology does not have",
    kind: "Cluster",
    apply: kv("stray").replace("- name: kv", "- name: cache"),
    field: "spec.componentSpecs[0].name",
    message: 'is not a component of topology "standalone"; allowed: "kv"',
  },
  {
    name: "an offline instance of another cluster",
    kind: "Cluster",
    apply: kv("offline", defaultComponent({ extra: "      offlineInstances: [other-kv-0]\n" })),
    field: "spec.componentSpecs[0].offlineInstances[0]",
    message: 'names start with "offline-kv-"',
  },
  {
    name: "requests above limits in an instance template",
    kind: "Cluster",
    apply: kv(
      "template-limit",
      defaultComponent({
        extra:
          "      instances:\n        - { name: big, replicas: 1, resources: { requests: { cpu: '2' }, limits: { cpu: '1' } } }\n",
      }),
    ),
    field: "spec.componentSpecs[0].instances[0].resources.requests.cpu",
    message: "2 is above the limit 1; lower the request or raise resources.limits.cpu",
  },
  {
    name: "an instance template overriding a claim the component lacks",
    kind: "Cluster",
    apply: kv(
      "template-claim",
      defaultComponent({
        extra:
          "      instances:\n        - name: t\n          volumeClaimTemplates: [{ name: logs, spec: { resources: { requests: { storage: 1Gi } } } }]\n",
      }),
    ),
    field: "spec.componentSpecs[0].instances[0].volumeClaimTemplates[0].name",
    message: '"logs" is not a volume claim template of component "kv"; override one of "data"',
  },
  {
    name: "more CPU than the largest node can allocate",
    kind: "Cluster",
    apply: kv("huge-cpu", defaultComponent({ resources: "{ requests: { cpu: '64' } }" })),
    field: "spec.componentSpecs[0].resources.requests.cpu",
    message: `64 is more than any node can allocate (the largest, "${NODE}", has 8 cpu)`,
  },
  {
    name: "an instance template larger than any node",
    kind: "Cluster",
    apply: kv(
      "huge-template",
      defaultComponent({
        extra:
          "      instances:\n        - { name: big, replicas: 1, resources: { limits: { memory: 1Pi } } }\n",
      }),
    ),
    field: "spec.componentSpecs[0].instances[0].resources.limits.memory",
    message: "1Pi (the request, as none is set) is more than any node can allocate",
  },
  {
    name: "no StorageClass named while none is the default",
    kind: "Cluster",
    setup: async (ctx) => {
      await setDefaultClass(ctx, false);
      await waitFor(async () => (await dryRunRefusal(noDefaultProbe())) !== undefined, {
        description: "the webhook to see that no StorageClass is the default",
        timeoutMs: 10_000,
      });
    },
    apply: kv(
      "no-default",
      `      replicas: 1
      volumeClaimTemplates:
        - { name: data, spec: { resources: { requests: { storage: 1Gi } } } }
`,
    ),
    field: "spec.componentSpecs[0].volumeClaimTemplates[0].spec.storageClassName",
    message: "not set and the cluster has no default StorageClass; name one of",
    cleanup: async (ctx) => {
      await setDefaultClass(ctx, true);
      await waitFor(async () => (await dryRunRefusal(noDefaultProbe())) === undefined, {
        description: "the webhook to see the default StorageClass again",
        timeoutMs: 10_000,
      });
    },
  },

  {
    name: "a parameter the addon does not declare",
    kind: "Cluster",
    apply: kv("unknown-parameter", defaultComponent({ extra: "      parameters: { colour: blue }\n" })),
    field: "spec.componentSpecs[0].parameters.colour",
    message:
      'ComponentDefinition "kv-1" has no parameter "colour"; parameters: "backup_seconds", "cache_entries"',
  },
  {
    name: "a parameter value outside the addon's range",
    kind: "Cluster",
    apply: kv(
      "parameter-range",
      defaultComponent({ extra: '      parameters: { cache_entries: "2000000" }\n' }),
    ),
    field: "spec.componentSpecs[0].parameters.cache_entries",
    message: "2000000 is outside 0..1000000",
  },

  // Updates of an existing cluster.
  {
    name: "a changed ClusterDefinition",
    kind: "Cluster",
    setup: kv("change-def"),
    apply: kv("change-def", defaultComponent({ extra: "      componentDef: kv-1\n" }), ""),
    field: "spec.clusterDef",
    message: 'is immutable (was "kv"); create a new cluster to use another ClusterDefinition',
  },
  {
    name: "a changed topology",
    kind: "Cluster",
    setup: kv("change-topology"),
    apply:
      kv("change-topology", "", "  clusterDef: kv\n  topology: replication\n") +
      "    - { name: watcher, replicas: 1 }\n",
    field: "spec.topology",
    message: 'is immutable (was "standalone"); create a new cluster with the topology you want',
  },
  {
    name: "an added component",
    kind: "Cluster",
    setup: bare("add-component", ["a"]),
    apply: bare("add-component", ["a", "b"]),
    field: "spec.componentSpecs[1].name",
    message: 'component "b" cannot be added to an existing cluster',
  },
  {
    name: "a removed component",
    kind: "Cluster",
    setup: bare("remove-component", ["a", "b"]),
    apply: bare("remove-component", ["a"]),
    field: "spec.componentSpecs",
    message: 'component "b" cannot be removed from an existing cluster',
  },
  {
    name: "a renamed volume claim template",
    kind: "Cluster",
    setup: kv("rename-claim"),
    apply: kv("rename-claim", defaultComponent().replace("- name: data", "- name: logs")),
    field: "spec.componentSpecs[0].volumeClaimTemplates[0].name",
    message: 'volume claim template "logs" cannot be added to an existing component',
  },
  {
    name: "a shrunk volume",
    kind: "Cluster",
    setup: kv("shrink", defaultComponent({ storage: "2Gi" })),
    apply: kv("shrink", defaultComponent({ storage: "1Gi" })),
    field: "spec.componentSpecs[0].volumeClaimTemplates[0].spec.resources.requests.storage",
    message: "volumes cannot shrink (from 2Gi to 1Gi); keep 2Gi or more",
  },
  {
    name: "memory raised beyond every node",
    kind: "Cluster",
    setup: kv("grow-memory"),
    apply: kv("grow-memory", defaultComponent({ resources: "{ requests: { memory: 32Gi } }" })),
    field: "spec.componentSpecs[0].resources.requests.memory",
    message: "32Gi is more than any node can allocate",
  },
  {
    name: "a request raised above its limit",
    kind: "Cluster",
    setup: kv("raise-request"),
    apply: kv(
      "raise-request",
      defaultComponent({ resources: '{ requests: { cpu: "1" }, limits: { cpu: "500m", memory: 256Mi } }' }),
    ),
    field: "spec.componentSpecs[0].resources.requests.cpu",
    message: "1 is above the limit 500m",
  },
  {
    name: "a malformed quantity in an update",
    kind: "Cluster",
    setup: kv("update-quantity"),
    apply: kv("update-quantity", defaultComponent({ resources: "{ limits: { memory: 1..5Gi } }" })),
    field: "spec.componentSpecs[0].resources.limits.memory",
    message: "should match",
  },

  // Addon definitions refused by their CRD schemas.
  {
    name: "a topology without components",
    kind: "ClusterDefinition",
    apply: clusterDefinition("bad-input-empty", "  topologies: [{ name: solo, components: [] }]\n"),
    field: "spec.topologies[0].components",
    message: "should have at least 1 items",
  },
  {
    name: "a ClusterDefinition without topologies",
    kind: "ClusterDefinition",
    apply: clusterDefinition("bad-input-none", "  other: {}\n"),
    field: "spec.topologies",
    message: "Required value",
  },
  {
    name: "a topology name that is not a DNS label",
    kind: "ClusterDefinition",
    apply: clusterDefinition(
      "bad-input-name",
      "  topologies: [{ name: Solo_1, components: [{ name: kv, compDef: kv- }] }]\n",
    ),
    field: "spec.topologies[0].name",
    message: "should match",
  },
  {
    name: "an unknown HA mode",
    kind: "ComponentDefinition",
    apply: componentDefinition("bad-input-ha", { haMode: "magic" }),
    field: "spec.haMode",
    message: 'supported values: "operator", "native", "none"',
  },
  {
    name: "a ComponentDefinition without a service kind",
    kind: "ComponentDefinition",
    apply: componentDefinition("bad-input-kind", { serviceKind: "" }),
    field: "spec.serviceKind",
    message: "Required value",
  },
  {
    name: "a pod template without containers",
    kind: "ComponentDefinition",
    apply: componentDefinition("bad-input-pod", { runtime: "{ containers: [] }" }),
    field: "spec.runtime.containers",
    message: "should have at least 1 items",
  },
  {
    name: "a service port out of range",
    kind: "ComponentDefinition",
    apply: componentDefinition("bad-input-port", {
      services: "[{ name: rw, spec: { ports: [{ name: kv, port: 70000 }] } }]",
    }),
    field: "spec.services[0].spec.ports[0].port",
    message: "should be less than or equal to 65535",
  },
  {
    name: "a negative minimum of replicas",
    kind: "ComponentDefinition",
    apply: componentDefinition("bad-input-limit", { replicasLimit: "{ minReplicas: -1, maxReplicas: 3 }" }),
    field: "spec.replicasLimit.minReplicas",
    message: "should be greater than or equal to 0",
  },
  {
    name: "a changed update strategy that is not one",
    kind: "ComponentDefinition",
    setup: componentDefinition("bad-input-update"),
    apply: componentDefinition("bad-input-update", { updateStrategy: "Sometimes" }),
    field: "spec.updateStrategy",
    message: 'supported values: "Serial", "Parallel"',
  },
  {
    name: "a ComponentVersion without releases",
    kind: "ComponentVersion",
    apply: componentVersion(
      "bad-input-none",
      '  compatibilityRules: [{ compDefs: ["kv-"], releases: [r1] }]\n  releases: []\n',
    ),
    field: "spec.releases",
    message: "should have at least 1 items",
  },
  {
    name: "a release without a service version",
    kind: "ComponentVersion",
    apply: componentVersion(
      "bad-input-release",
      '  compatibilityRules: [{ compDefs: ["kv-"], releases: [r1] }]\n  releases: [{ name: r1, images: { kv: busybox } }]\n',
    ),
    field: "spec.releases[0].serviceVersion",
    message: "Required value",
  },
  {
    name: "a compatibility rule without definitions",
    kind: "ComponentVersion",
    setup: componentVersion("bad-input-rule", validVersionSpec),
    apply: componentVersion("bad-input-rule", validVersionSpec.replace('compDefs: ["kv-"]', "compDefs: []")),
    field: "spec.compatibilityRules[0].compDefs",
    message: "should have at least 1 items",
  },

  // OpsRequests, refused by the CRD schema or by the webhook against the cluster they name.
  {
    name: "a cluster that does not exist",
    kind: "OpsRequest",
    apply: ops("no-cluster", "Restart", "", "nosuch"),
    field: "spec.clusterName",
    message: `cluster "nosuch" not found in namespace`,
  },
  {
    name: "an unknown type",
    kind: "OpsRequest",
    setup: withOpsTarget(),
    apply: ops("reboot", "Reboot"),
    field: "spec.type",
    message: 'supported values: "Restart", "Stop", "Start"',
    cleanup: removeOpsTarget,
  },
  {
    name: "a component the cluster lacks",
    kind: "OpsRequest",
    setup: withOpsTarget(),
    apply: ops("no-component", "Restart", "  restart: [{ componentName: db }]\n"),
    field: "spec.restart[0].componentName",
    message: `cluster ${OPS_TARGET} has no component "db"; components: "kv"`,
    cleanup: removeOpsTarget,
  },
  {
    name: "an instance the component does not have",
    kind: "OpsRequest",
    setup: withOpsTarget(),
    apply: ops(
      "no-instance",
      "HorizontalScaling",
      "  horizontalScaling: [{ componentName: kv, offlineInstances: [other-kv-0] }]\n",
    ),
    field: "spec.horizontalScaling[0].offlineInstances[0]",
    message: `"other-kv-0" is not an instance of component kv; instances: "${OPS_TARGET}-kv-0"`,
    cleanup: removeOpsTarget,
  },
  {
    name: "replicas beyond the ComponentDefinition's limit",
    kind: "OpsRequest",
    setup: withOpsTarget(),
    apply: ops(
      "too-many",
      "HorizontalScaling",
      "  horizontalScaling: [{ componentName: kv, replicas: 9 }]\n",
    ),
    field: "spec.horizontalScaling[0].replicas",
    message: '9 instances is outside 1..7 allowed by ComponentDefinition "kv-1"',
    cleanup: removeOpsTarget,
  },
  {
    name: "requests above the component's limits",
    kind: "OpsRequest",
    setup: withOpsTarget(),
    apply: ops(
      "over-limit",
      "VerticalScaling",
      "  verticalScaling: [{ componentName: kv, resources: { requests: { cpu: '2' } } }]\n",
    ),
    field: "spec.verticalScaling[0].resources.requests.cpu",
    message: "2 is above the limit 500m; lower the request or raise resources.limits.cpu",
    cleanup: removeOpsTarget,
  },
  {
    name: "a volume expansion on a StorageClass that does not allow it",
    kind: "OpsRequest",
    setup: async (ctx) =>
      ctx.env.apply(
        kv(OPS_TARGET, defaultComponent({ storageClass: OTHER_CLASS })).replaceAll(NS, ctx.namespace),
      ),
    apply: ops(
      "expand-fixed",
      "VolumeExpansion",
      "  volumeExpansion: [{ componentName: kv, volumeClaimTemplates: [{ name: data, storage: 2Gi }] }]\n",
    ),
    field: "spec.volumeExpansion[0].volumeClaimTemplates[0]",
    message: `StorageClass "${OTHER_CLASS}" does not allow volume expansion (allowVolumeExpansion: unset)`,
    cleanup: removeOpsTarget,
  },
  {
    name: "a volume expansion that shrinks",
    kind: "OpsRequest",
    setup: withOpsTarget(),
    apply: ops(
      "expand-shrink",
      "VolumeExpansion",
      "  volumeExpansion: [{ componentName: kv, volumeClaimTemplates: [{ name: data, storage: 512Mi }] }]\n",
    ),
    field: "spec.volumeExpansion[0].volumeClaimTemplates[0].storage",
    message: "volumes cannot shrink",
    cleanup: removeOpsTarget,
  },
  {
    name: "a rebuild of a component with one instance",
    kind: "OpsRequest",
    setup: withOpsTarget(),
    apply: ops(
      "rebuild-single",
      "RebuildInstance",
      `  rebuildInstance: [{ componentName: kv, instances: [${OPS_TARGET}-kv-0] }]\n`,
    ),
    field: "spec.rebuildInstance[0].componentName",
    message: "a rebuild copies the data from another one, so it needs at least 2",
    cleanup: removeOpsTarget,
  },
  {
    name: "a reconfigure of a parameter the addon does not declare",
    kind: "OpsRequest",
    setup: withOpsTarget(),
    apply: ops(
      "reconfigure-unknown",
      "Reconfiguring",
      "  reconfiguring: [{ componentName: kv, parameters: { colour: blue } }]\n",
    ),
    field: "spec.reconfiguring[0].parameters.colour",
    message: 'ComponentDefinition "kv-1" has no parameter "colour"',
    cleanup: removeOpsTarget,
  },
  {
    name: "a reconfigure to a value outside an enum",
    kind: "OpsRequest",
    setup: withOpsTarget(),
    apply: ops(
      "reconfigure-enum",
      "Reconfiguring",
      "  reconfiguring: [{ componentName: kv, parameters: { mode: turbo } }]\n",
    ),
    field: "spec.reconfiguring[0].parameters.mode",
    message: '"turbo" is not one of "fast", "slow", "strict"',
    cleanup: removeOpsTarget,
  },
  {
    name: "a reconfigure to a size beyond the maximum",
    kind: "OpsRequest",
    setup: withOpsTarget(),
    apply: ops(
      "reconfigure-size",
      "Reconfiguring",
      "  reconfiguring: [{ componentName: kv, parameters: { cache_size: 128Mi } }]\n",
    ),
    field: "spec.reconfiguring[0].parameters.cache_size",
    message: "128Mi is outside 1Ki..64Mi",
    cleanup: removeOpsTarget,
  },
  {
    name: "a reconfigure of a string not matching its pattern",
    kind: "OpsRequest",
    setup: withOpsTarget(),
    apply: ops(
      "reconfigure-pattern",
      "Reconfiguring",
      '  reconfiguring: [{ componentName: kv, parameters: { greeting: "<hi>" } }]\n',
    ),
    field: "spec.reconfiguring[0].parameters.greeting",
    message: '"<hi>" does not match',
    cleanup: removeOpsTarget,
  },
  {
    name: "a reconfigure naming no parameter",
    kind: "OpsRequest",
    setup: withOpsTarget(),
    apply: ops(
      "reconfigure-empty",
      "Reconfiguring",
      "  reconfiguring: [{ componentName: kv, parameters: {} }]\n",
    ),
    field: "spec.reconfiguring[0].parameters",
    message: "name at least one parameter",
    cleanup: removeOpsTarget,
  },
  {
    name: "an unknown switchover candidate",
    kind: "OpsRequest",
    setup: withOpsTarget(),
    apply: ops(
      "candidate",
      "Switchover",
      `  switchover: [{ componentName: kv, candidateName: ${OPS_TARGET}-kv-5 }]\n`,
    ),
    field: "spec.switchover[0].candidateName",
    message: `"${OPS_TARGET}-kv-5" is not an instance of component kv`,
    cleanup: removeOpsTarget,
  },
  {
    name: "a custom operation the definition does not declare",
    kind: "OpsRequest",
    setup: withOpsTarget(),
    apply: ops("custom-unknown", "Custom", "  custom: { componentName: kv, opsName: vacuum }\n"),
    field: "spec.custom.opsName",
    message:
      'ComponentDefinition "kv-1" of component kv declares no operation "vacuum"; operations: "note", "full"',
    cleanup: removeOpsTarget,
  },
  {
    name: "a parameter the custom operation does not take",
    kind: "OpsRequest",
    setup: withOpsTarget(),
    apply: ops(
      "custom-parameter",
      "Custom",
      "  custom: { componentName: kv, opsName: note, parameters: { text: hi, colour: red } }\n",
    ),
    field: "spec.custom.parameters.colour",
    message: 'operation "note" has no parameter "colour"; parameters: "text", "times", "shout", "level"',
    cleanup: removeOpsTarget,
  },
  {
    name: "a required parameter of a custom operation left out",
    kind: "OpsRequest",
    setup: withOpsTarget(),
    apply: ops(
      "custom-missing",
      "Custom",
      "  custom: { componentName: kv, opsName: note, parameters: { times: '2' } }\n",
    ),
    field: "spec.custom.parameters.text",
    message: 'required by operation "note" (the note)',
    cleanup: removeOpsTarget,
  },
  {
    name: "a custom operation's parameter of the wrong type",
    kind: "OpsRequest",
    setup: withOpsTarget(),
    apply: ops(
      "custom-type",
      "Custom",
      "  custom: { componentName: kv, opsName: note, parameters: { text: hi, times: many, level: loud } }\n",
    ),
    field: "spec.custom.parameters.times",
    message: '"many" is not an integer',
    cleanup: removeOpsTarget,
  },
  {
    name: "an Upgrade to a version that is not offered",
    kind: "OpsRequest",
    setup: withOpsTarget(),
    apply: ops("upgrade-unknown", "Upgrade", '  upgrade: [{ componentName: kv, serviceVersion: "9.9" }]\n'),
    field: "spec.upgrade[0].serviceVersion",
    message: '"9.9" is not offered for ComponentDefinition "kv-1"; offered: "1.1", "1.0"',
    cleanup: removeOpsTarget,
  },
  {
    name: "an Upgrade the ComponentVersion does not allow",
    kind: "OpsRequest",
    setup: withOpsTarget(),
    apply: ops("upgrade-down", "Upgrade", '  upgrade: [{ componentName: kv, serviceVersion: "1.0" }]\n'),
    field: "spec.upgrade[0].serviceVersion",
    message: "does not let kv upgrade from 1.1 to 1.0",
    cleanup: removeOpsTarget,
  },
  {
    name: "an Upgrade naming neither a version nor a definition",
    kind: "OpsRequest",
    setup: withOpsTarget(),
    apply: ops("upgrade-nothing", "Upgrade", "  upgrade: [{ componentName: kv }]\n"),
    field: "spec.upgrade[0]",
    message: "name the serviceVersion or the componentDef to upgrade component kv to",
    cleanup: removeOpsTarget,
  },
  {
    name: "a section for another type",
    kind: "OpsRequest",
    setup: withOpsTarget(),
    apply: ops("other-section", "Restart", "  horizontalScaling: [{ componentName: kv, replicas: 2 }]\n"),
    field: "spec.horizontalScaling",
    message: "is for type HorizontalScaling; this OpsRequest is a Restart",
    cleanup: removeOpsTarget,
  },
  {
    name: "a timeout of zero seconds",
    kind: "OpsRequest",
    setup: withOpsTarget(),
    apply: ops("no-time", "Restart", "  timeoutSeconds: 0\n"),
    field: "spec.timeoutSeconds",
    message: "should be greater than or equal to 1",
    cleanup: removeOpsTarget,
  },
  {
    name: "a changed type",
    kind: "OpsRequest",
    setup: withOpsTarget(ops("change-type", "Restart")),
    apply: ops("change-type", "Stop"),
    field: "spec.type",
    message: 'is immutable (was "Restart"); create a new OpsRequest of type Stop',
    cleanup: removeOpsTarget,
  },
  {
    name: "an unknown kind",
    kind: "BackupRepo",
    apply: backupRepo("bad-kind", "kind: nfs\n  filesystem: { path: /backups }"),
    field: "spec.kind",
    message: "Unsupported value",
  },
  {
    name: "kind s3 and a filesystem section",
    kind: "BackupRepo",
    apply: backupRepo("s3-without-s3", "kind: s3\n  filesystem: { path: /backups }"),
    field: "spec.s3",
    message: "required when spec.kind is s3",
  },
  {
    name: "kind filesystem and an s3 section as well",
    kind: "BackupRepo",
    apply: backupRepo(
      "fs-and-s3",
      `kind: filesystem\n  filesystem: { path: /backups }\n  s3: ${s3Section()}`,
    ),
    field: "spec.s3",
    message: "not allowed when spec.kind is filesystem",
  },
  {
    name: "an endpoint that is not a URL",
    kind: "BackupRepo",
    setup: repoSecret("repo-keys"),
    apply: backupRepo("bad-endpoint", `kind: s3\n  s3: ${s3Section({ endpoint: "s3.example.com:9000" })}`),
    field: "spec.s3.endpoint",
    message: "is not an http or https URL",
  },
  {
    name: "a credentials Secret that does not exist",
    kind: "BackupRepo",
    apply: backupRepo("no-secret", `kind: s3\n  s3: ${s3Section({ secret: "missing-keys" })}`),
    field: "spec.s3.credentialsSecretRef",
    message: "does not exist",
  },
  {
    name: "a credentials Secret without the secret key",
    kind: "BackupRepo",
    setup: repoSecret("half-keys", false),
    apply: backupRepo("half-secret", `kind: s3\n  s3: ${s3Section({ secret: "half-keys" })}`),
    field: "spec.s3.credentialsSecretRef",
    message: "lacks the key secretAccessKey",
  },
  // Tenants: a tenant's namespace is its own (named after it), so these manifests name it.
  {
    name: "more memory than its tenant's quota leaves",
    kind: "Cluster",
    setup: withTenant(QUOTA_TENANT, QUOTA),
    apply: inTenant(
      QUOTA_TENANT,
      kv("tq-big", defaultComponent({ resources: "{ limits: { cpu: 500m, memory: 1Gi } }" })),
    ),
    field: "spec.quota.memory",
    message: "quota memory is 512Mi, its other clusters use 0 and this cluster needs 1Gi, 1Gi in all",
  },
  {
    name: "one cluster more than its tenant's quota allows",
    kind: "Cluster",
    setup: withTenant(QUOTA_TENANT, QUOTA, inTenant(QUOTA_TENANT, kv("tq-first"))),
    apply: inTenant(QUOTA_TENANT, kv("tq-second")),
    field: "spec.quota.clusters",
    message: "quota clusters is 1, its other clusters use 1 and this cluster needs 1, 2 in all",
  },
  {
    name: "a scale-out past its tenant's quota",
    kind: "OpsRequest",
    apply: inTenant(
      QUOTA_TENANT,
      ops(
        "tq-scale",
        "HorizontalScaling",
        "  horizontalScaling: [{ componentName: kv, replicas: 3 }]",
        "tq-first",
      ),
    ),
    field: "spec.quota.memory",
    message: "this HorizontalScaling needs 768Mi (now 256Mi), 768Mi in all",
  },
  {
    name: "a quota below what its clusters use",
    kind: "Tenant",
    apply: tenant(QUOTA_TENANT, "quota: { memory: 128Mi, clusters: 1 }"),
    field: "spec.quota.memory",
    message: "128Mi is below what the tenant's clusters use, 256Mi",
  },
  {
    name: "an addon its tenant may not use",
    kind: "Cluster",
    setup: withTenant(ADDONS_TENANT, "allowedAddons: [postgresql]"),
    apply: inTenant(ADDONS_TENANT, kv("ta-kv")),
    field: "spec.allowedAddons",
    message: 'the tenant may not use addon "kv"; allowed: "postgresql"',
  },
  {
    name: "a name that is no DNS label",
    kind: "Tenant",
    apply: tenant("team.a", "quota: {}"),
    field: "metadata.name",
    message: "must be a DNS label",
  },
  {
    name: "a default backup repository that does not exist",
    kind: "Tenant",
    apply: tenant("bad-input-repo", "defaultBackupRepo: nowhere"),
    field: "spec.defaultBackupRepo",
    message: 'BackupRepo "nowhere" not found',
  },
  {
    name: "a backup section without a repository, its tenant naming no default",
    kind: "Cluster",
    setup: withTenant(BACKUP_TENANT, "quota: {}"),
    apply: inTenant(
      BACKUP_TENANT,
      kv("tb-backup", "", "  clusterDef: kv\n  topology: standalone\n  backup: {}\n"),
    ),
    field: "spec.backup.repo",
    message:
      "name a BackupRepo (tessera backuprepo list), or give the namespace's Tenant a spec.defaultBackupRepo",
  },
  {
    name: "an unknown choice of who may exec into its pods",
    kind: "Tenant",
    apply: tenant("bad-input-exec", "access: { podExec: Everyone }"),
    field: "spec.access.podExec",
    message: 'Unsupported value: "Everyone"',
  },
  // Backup policies and schedules.
  {
    name: "a cluster that does not exist",
    kind: "BackupPolicy",
    apply: backupPolicy("ghost-policy", "clusterName: ghost, repo: local"),
    field: "spec.clusterName",
    message: 'cluster "ghost" does not exist',
  },
  {
    name: "a retention age that is no duration",
    kind: "BackupPolicy",
    apply: backupPolicy("week-policy", 'clusterName: ghost, repo: local, retention: { maxAge: "a week" }'),
    field: "spec.retention.maxAge",
    message: "should match",
  },
  {
    name: "a schedule that is no cron expression",
    kind: "BackupSchedule",
    apply: backupSchedule("bad-cron", 'policy: nowhere, schedule: "every night"'),
    field: "spec.schedule",
    message: '"every night" is not a cron expression',
  },
  {
    name: "a policy that does not exist",
    kind: "BackupSchedule",
    apply: backupSchedule("no-policy", 'policy: nowhere, schedule: "0 3 * * *"'),
    field: "spec.policy",
    message: 'backup policy "nowhere" does not exist',
  },
  {
    name: "the name of a namespace that is not a tenant's",
    kind: "Tenant",
    apply: tenant(NS, "quota: {}"),
    field: "metadata.name",
    message: "exists and is not a tenant's",
  },
];

function tenant(name: string, spec: string): string {
  return `apiVersion: tessera.dev/v1alpha1
kind: Tenant
metadata: { name: ${name} }
spec:
  ${spec}
`;
}

/** A manifest of the shared namespace moved to a tenant's. */
function inTenant(name: string, manifest: string): string {
  return manifest.replaceAll(NS, name);
}

/** Creates the tenant (with `spec`), waits for its namespace to be in place, then applies `manifests`. */
function withTenant(name: string, spec: string, ...manifests: string[]) {
  return async (ctx: CaseContext) => {
    await ctx.env.apply(tenant(name, spec));
    await waitFor(
      async () =>
        (await ctx.env.client.get<Tenant>({ apiVersion: API_VERSION, kind: "Tenant", name })).status
          ?.phase === "Ready",
      { description: `tenant ${name} to be Ready`, timeoutMs: 30_000 },
    );
    for (const manifest of manifests) await ctx.env.apply(manifest);
  };
}

function backupPolicy(name: string, spec: string): string {
  return `apiVersion: tessera.dev/v1alpha1
kind: BackupPolicy
metadata: { name: ${name}, namespace: ${NS} }
spec: { ${spec} }
`;
}

function backupSchedule(name: string, spec: string): string {
  return `apiVersion: tessera.dev/v1alpha1
kind: BackupSchedule
metadata: { name: ${name}, namespace: ${NS} }
spec: { ${spec} }
`;
}

function backupRepo(name: string, spec: string): string {
  return `apiVersion: tessera.dev/v1alpha1
kind: BackupRepo
metadata: { name: ${name} }
spec:
  ${spec}
`;
}

function s3Section(options: { endpoint?: string; secret?: string } = {}): string {
  return `{ endpoint: "${options.endpoint ?? "http://127.0.0.1:9"}", bucket: b, credentialsSecretRef: { namespace: ${NS}, name: ${options.secret ?? "repo-keys"} } }`;
}

function repoSecret(name: string, withSecretKey = true): string {
  return `apiVersion: v1
kind: Secret
metadata: { name: ${name}, namespace: ${NS} }
stringData:
  accessKeyId: key
${withSecretKey ? "  secretAccessKey: secret\n" : ""}`;
}

/**
 * Whether a refusal names the field. The CRD schema refuses first (before
 * the webhook), and a 1.20 apiserver prints its paths without list indices
 * (`spec.componentSpecs.replicas`); newer ones and the webhook print them.
 */
function names(message: string, field: string): boolean {
  return message.includes(`${field}:`) || message.includes(`${field.replace(/\[\d+\]/g, "")}: `);
}

/** The object a manifest names, as stored now (undefined when absent). */
async function stored(manifest: string): Promise<KubernetesObject | undefined> {
  const object = parse(manifest) as KubernetesObject;
  return env.client.find({
    apiVersion: object.apiVersion!,
    kind: object.kind!,
    name: object.metadata!.name!,
    ...(object.metadata?.namespace ? { namespace: object.metadata.namespace } : {}),
  });
}

before(async () => {
  env = await startOperatorEnv();
  namespace = await env.cluster.createNamespace();
  await env.client.create({
    apiVersion: "storage.k8s.io/v1",
    kind: "StorageClass",
    metadata: { name: OTHER_CLASS },
    provisioner: "example.com/nobody",
  });
  // A node object without a kubelet: the test keeps its Ready heartbeat current, as a kubelet would.
  await env.client.create<V1Node>({
    apiVersion: "v1",
    kind: "Node",
    metadata: { name: NODE, labels: { "kubernetes.io/hostname": NODE } },
    status: { allocatable: { cpu: "8", memory: NODE_MEMORY, pods: "110" }, conditions: [readyCondition()] },
  });
  heartbeat = setInterval(() => {
    env.client
      .patch(
        { apiVersion: "v1", kind: "Node", name: NODE },
        { status: { conditions: [readyCondition()] } },
        "strategic",
        "status",
      )
      .catch(() => undefined);
  }, 5_000);
  const probe = kv("probe-node", defaultComponent({ resources: "{ limits: { memory: 10Ti } }" })).replaceAll(
    NS,
    namespace,
  );
  await waitFor(async () => (await dryRunRefusal(probe))?.includes(NODE), {
    description: "the webhook to see the node",
    timeoutMs: 10_000,
  });
});

after(async () => {
  clearInterval(heartbeat);
  await env?.stop();
});

test("the table covers every kind it is meant to", () => {
  assert.ok(cases.length >= 30, `${cases.length} cases`);
  for (const kind of ["Cluster", "ClusterDefinition", "ComponentDefinition", "ComponentVersion"]) {
    assert.ok(
      cases.some((c) => c.kind === kind),
      `a case for ${kind}`,
    );
  }
});

for (const c of cases) {
  test(`refused: ${c.kind} with ${c.name}`, async () => {
    const ctx: CaseContext = { namespace, env };
    const manifest = c.apply.replaceAll(NS, namespace);
    if (typeof c.setup === "string") await env.apply(c.setup.replaceAll(NS, namespace));
    else await c.setup?.(ctx);
    try {
      const before = await stored(manifest);
      // The apiserver's refusal is what counts (API clients skip kubectl's own schema check).
      const result = await env.cluster.kubectl(["apply", "--validate=false", "-f", "-"], { input: manifest });
      assert.notEqual(result.code, 0, `kubectl apply must fail; it printed: ${result.stdout}`);
      assert.ok(names(result.stderr, c.field), `the refusal names ${c.field}:\n${result.stderr}`);
      assert.ok(result.stderr.includes(c.message), `the refusal says "${c.message}":\n${result.stderr}`);
      const after = await stored(manifest);
      if (!before) {
        assert.equal(after, undefined, "a refused create leaves nothing behind");
      } else {
        // The operator keeps writing status and finalizers; the spec and its generation must not move.
        assert.equal(after?.metadata?.generation, before.metadata?.generation, "the spec was not written");
        assert.deepEqual((after as { spec?: unknown }).spec, (before as { spec?: unknown }).spec);
      }
    } finally {
      await c.cleanup?.(ctx);
    }
  });
}

test("nothing but the set-up clusters exists after the refusals", async () => {
  const clusters = await env.client.list(API_VERSION, "Cluster", { namespace });
  const setUp = cases
    .filter((c) => typeof c.setup === "string" && c.kind === "Cluster")
    .map((c) => (parse((c.setup as string).replaceAll(NS, namespace)) as KubernetesObject).metadata!.name!);
  assert.deepEqual(clusters.items.map((c) => c.metadata!.name!).sort(), setUp.sort());
});
