import { test } from "node:test";
import assert from "node:assert/strict";
import type { Cluster } from "@tessera/api";
import { validateCluster, validateClusterDelete } from "../../src/webhook/validate.js";
import { DefinitionCatalog } from "../../src/definitions.js";
import { catalog, clusterDef, compDef, version } from "../fixtures/definitions.js";

const cluster = (spec: Partial<Cluster["spec"]>): Cluster => ({
  apiVersion: "tessera.dev/v1alpha1",
  kind: "Cluster",
  metadata: { name: "c1", namespace: "ns" },
  spec: {
    clusterDef: "kv",
    topology: "standalone",
    terminationPolicy: "Delete",
    componentSpecs: [
      {
        name: "kv",
        replicas: 1,
        volumeClaimTemplates: [{ name: "data", spec: { resources: { requests: { storage: "2Gi" } } } }],
      },
    ],
    ...spec,
  },
});

test("a valid cluster passes", () => {
  assert.deepEqual(validateCluster(catalog(), cluster({})), []);
});

test("schema problems are reported with their field path", () => {
  const errors = validateCluster(catalog(), cluster({ componentSpecs: [{ name: "KV!", replicas: -1 }] }));
  assert.ok(
    errors.some((e) => e.startsWith("spec.componentSpecs[0].name:")),
    errors.join("\n"),
  );
  assert.ok(
    errors.some((e) => e.startsWith("spec.componentSpecs[0].replicas:")),
    errors.join("\n"),
  );
});

test("replicas outside the definition's limits are refused with the range", () => {
  const errors = validateCluster(catalog(), cluster({ componentSpecs: [{ name: "kv", replicas: 9 }] }));
  assert.deepEqual(errors, [
    'spec.componentSpecs[0].replicas: 9 is outside 1..5 allowed by ComponentDefinition "kv-1.1"',
  ]);
});

test("offline instances must belong to the component", () => {
  const errors = validateCluster(
    catalog(),
    cluster({ componentSpecs: [{ name: "kv", replicas: 1, offlineInstances: ["other-0"] }] }),
  );
  assert.match(
    errors[0] ?? "",
    /offlineInstances\[0\]: "other-0" is not an instance of this component \(names start with "c1-kv-"\)/,
  );
});

test("updates may not shrink volumes or change the topology", () => {
  const old = cluster({});
  const shrunk = cluster({
    componentSpecs: [
      {
        name: "kv",
        replicas: 1,
        volumeClaimTemplates: [{ name: "data", spec: { resources: { requests: { storage: "1Gi" } } } }],
      },
    ],
  });
  assert.match(
    validateCluster(catalog(), shrunk, old).join(";"),
    /volumeClaimTemplates\[0\]\.spec\.resources\.requests\.storage: volumes cannot shrink \(from 2Gi to 1Gi\)/,
  );
  assert.match(
    validateCluster(
      catalog(),
      cluster({
        topology: "replication",
        componentSpecs: [
          { name: "kv", replicas: 1 },
          { name: "watcher", replicas: 1 },
        ],
      }),
      old,
    ).join(";"),
    /spec\.topology: is immutable/,
  );
});

const kv = (extra: Partial<Cluster["spec"]["componentSpecs"][number]>) =>
  cluster({ componentSpecs: [{ name: "kv", replicas: 1, ...extra }] });

const claim = (name: string, storage: string, storageClassName?: string) => ({
  name,
  spec: { ...(storageClassName ? { storageClassName } : {}), resources: { requests: { storage } } },
});

test("malformed and negative quantities are refused with the field and an example", () => {
  const errors = validateCluster(catalog(), kv({ resources: { limits: { memory: "1.2.3Gi", cpu: "-1" } } }));
  assert.deepEqual(errors, [
    'spec.componentSpecs[0].resources.limits.memory: "1.2.3Gi" is not a Kubernetes quantity; write a number with an optional suffix, e.g. 500m, 2, 512Mi, 10Gi',
    'spec.componentSpecs[0].resources.limits.cpu: "-1" is negative; resource amounts are 0 or more',
  ]);
});

test("requests above limits are refused for the component and for each instance template", () => {
  const errors = validateCluster(
    catalog(),
    kv({
      replicas: 2,
      resources: { requests: { cpu: "2", memory: "1Gi" }, limits: { cpu: "1500m", memory: "1024Mi" } },
      instances: [
        { name: "big", replicas: 1, resources: { requests: { memory: "8Gi" }, limits: { memory: "4Gi" } } },
      ],
    }),
  );
  assert.deepEqual(errors, [
    "spec.componentSpecs[0].resources.requests.cpu: 2 is above the limit 1500m; lower the request or raise resources.limits.cpu",
    "spec.componentSpecs[0].instances[0].resources.requests.memory: 8Gi is above the limit 4Gi; lower the request or raise resources.limits.memory",
  ]);
});

test("an instance template may only override claims the component has", () => {
  const errors = validateCluster(
    catalog(),
    kv({
      volumeClaimTemplates: [claim("data", "1Gi")],
      instances: [{ name: "t", replicas: 1, volumeClaimTemplates: [claim("logs", "1Gi")] }],
    }),
  );
  assert.deepEqual(errors, [
    'spec.componentSpecs[0].instances[0].volumeClaimTemplates[0].name: "logs" is not a volume claim template of component "kv"; override one of "data"',
  ]);
});

test("updates may not change a claim's StorageClass, its template names, the components or the definition", () => {
  const old = kv({
    volumeClaimTemplates: [claim("data", "1Gi", "fast")],
    instances: [{ name: "t", replicas: 1 }],
  });
  const errors = (spec: Partial<Cluster["spec"]>) => validateCluster(catalog(), cluster(spec), old);
  assert.deepEqual(
    errors({
      componentSpecs: [
        {
          name: "kv",
          replicas: 1,
          volumeClaimTemplates: [claim("data", "1Gi", "slow")],
          instances: [{ name: "t", replicas: 1 }],
        },
      ],
    }),
    [
      'spec.componentSpecs[0].volumeClaimTemplates[0].spec.storageClassName: is immutable (was "fast"); volumes cannot move to another StorageClass, set it back to "fast"',
    ],
  );
  assert.deepEqual(
    errors({
      componentSpecs: [
        {
          name: "kv",
          replicas: 1,
          volumeClaimTemplates: [claim("data", "1Gi", "fast")],
          instances: [{ name: "t", replicas: 1, volumeClaimTemplates: [claim("data", "1Gi")] }],
        },
      ],
    }),
    [
      'spec.componentSpecs[0].instances[0].volumeClaimTemplates[0].spec.storageClassName: is immutable (was "fast"); volumes cannot move to another StorageClass, set it back to "fast"',
    ],
    "a template override counts against the class its instances already use",
  );
  assert.deepEqual(
    errors({
      componentSpecs: [{ name: "kv", replicas: 1, volumeClaimTemplates: [claim("logs", "1Gi", "fast")] }],
    }),
    [
      'spec.componentSpecs[0].volumeClaimTemplates: volume claim template "data" cannot be removed (existing instances keep their data on it); keep it',
      'spec.componentSpecs[0].volumeClaimTemplates[0].name: volume claim template "logs" cannot be added to an existing component (existing instances cannot gain a volume); remove it, or create a new cluster with it',
    ],
  );
  assert.match(
    errors({
      clusterDef: undefined,
      topology: undefined,
      componentSpecs: [{ name: "kv", componentDef: "kv-1.1", replicas: 1 }],
    }).join("\n"),
    /^spec\.clusterDef: is immutable \(was "kv"\); create a new cluster to use another ClusterDefinition$/m,
  );
  const added = validateCluster(
    catalog(),
    cluster({
      clusterDef: undefined,
      topology: undefined,
      componentSpecs: [
        { name: "kv", componentDef: "kv-1.1", replicas: 1 },
        { name: "kv2", componentDef: "kv-1.1", replicas: 1 },
      ],
    }),
    cluster({
      clusterDef: undefined,
      topology: undefined,
      componentSpecs: [{ name: "kv", componentDef: "kv-1.1", replicas: 1 }],
    }),
  );
  assert.deepEqual(added, [
    'spec.componentSpecs[1].name: component "kv2" cannot be added to an existing cluster (its topology fixes the components); remove it, or create a new cluster with it',
  ]);
});

test("an update that keeps a stored size that no longer parses is not refused for it", () => {
  const old = kv({ volumeClaimTemplates: [claim("data", "1 Gi")] });
  assert.deepEqual(validateCluster(catalog(), kv({ volumeClaimTemplates: [claim("data", "2Gi")] }), old), []);
});

test("deleting a DoNotTerminate cluster is refused with the fix", () => {
  assert.match(
    validateClusterDelete(cluster({ terminationPolicy: "DoNotTerminate" })) ?? "",
    /set it to Delete or WipeOut/,
  );
  assert.equal(validateClusterDelete(cluster({})), undefined);
});

test("parameters are checked against the definition's schema; an update does not check again those it leaves as they were", () => {
  const declared = new DefinitionCatalog({
    clusterDefinitions: () => [clusterDef],
    componentDefinitions: () => [
      compDef("kv-1.1", {
        configs: [
          {
            name: "config",
            template: "t",
            namespace: "ns",
            volumeName: "config",
            parameters: [{ name: "greeting", type: "string", description: "what it says" }],
          },
        ],
      }),
    ],
    componentVersions: () => [version],
  });
  const withParameters = (parameters: Record<string, string>) =>
    cluster({ componentSpecs: [{ name: "kv", replicas: 1, parameters }] });
  const refusal =
    'spec.componentSpecs[0].parameters.colour: ComponentDefinition "kv-1.1" has no parameter "colour"; parameters: "greeting"';
  assert.deepEqual(validateCluster(declared, withParameters({ colour: "blue" })), [refusal]);
  const admittedBefore = withParameters({ colour: "blue" });
  assert.deepEqual(
    validateCluster(declared, withParameters({ colour: "blue", greeting: "hi" }), admittedBefore),
    [],
  );
  assert.deepEqual(validateCluster(declared, withParameters({ colour: "red" }), admittedBefore), [refusal]);
});
