import { z } from "zod";
import { exposedService, exposedServiceType } from "./cluster.js";
import { condition, dnsLabel, objectMeta, quantity, resourceRequirements } from "./common.js";

export const opsType = z.enum([
  "Restart",
  "Stop",
  "Start",
  "HorizontalScaling",
  "VerticalScaling",
  "Switchover",
  "Custom",
  "Upgrade",
  "RebuildInstance",
  "VolumeExpansion",
  "Expose",
  "Reconfiguring",
  "Backup",
  "Restore",
]);
export type OpsType = z.infer<typeof opsType>;

export const opsPhase = z.enum([
  "Pending",
  "Running",
  "Cancelling",
  "Succeed",
  "Failed",
  "Cancelled",
  "Aborted",
]);
export type OpsPhase = z.infer<typeof opsPhase>;

/** Phases an operation never leaves. */
export const TERMINAL_OPS_PHASES: readonly OpsPhase[] = ["Succeed", "Failed", "Cancelled", "Aborted"];

export function isTerminalOpsPhase(phase: OpsPhase | undefined): boolean {
  return phase !== undefined && TERMINAL_OPS_PHASES.includes(phase);
}

const componentName = dnsLabel.describe(
  "A component of the cluster, as its spec.componentSpecs names it (e.g. `postgresql`).",
);

const componentList = (what: string) =>
  z
    .array(z.object({ componentName }))
    .optional()
    .describe(`The components to ${what}, one after another in this order; every component when unset.`);

export const horizontalScaling = z.object({
  componentName,
  replicas: z
    .number()
    .int()
    .min(0)
    .optional()
    .describe(
      "The component's new number of instances, within its definition's replicasLimit. When unset, the current number less the instances taken offline plus those brought back.",
    ),
  offlineInstances: z
    .array(z.string())
    .optional()
    .describe(
      "Instances (pod names) to take out: exactly these are removed with their volumes, the writable one after a switchover, and their ordinals stay unused.",
    ),
  onlineInstances: z
    .array(z.string())
    .optional()
    .describe(
      "Instances taken offline before (listed in the component's offlineInstances) to bring back; they return with empty volumes and join as new members.",
    ),
});
export type HorizontalScaling = z.infer<typeof horizontalScaling>;

export const verticalScaling = z.object({
  componentName,
  resources: resourceRequirements.describe(
    "CPU and memory to give each instance's database container. Each amount named here replaces the component's; amounts not named keep their value. Instances restart one at a time, the writable one last after a switchover.",
  ),
});
export type VerticalScaling = z.infer<typeof verticalScaling>;

export const switchover = z.object({
  componentName,
  candidateName: z
    .string()
    .optional()
    .describe(
      "The instance (pod name) to take the writable role; when unset, the ready replica with the most advanced position its role probe reports.",
    ),
});
export type SwitchoverSpec = z.infer<typeof switchover>;

export const rebuildInstance = z.object({
  componentName,
  instances: z
    .array(z.string())
    .min(1)
    .describe(
      "Instances (pod names) to rebuild, one after another: each keeps its name and gets new, empty volumes that the engine fills from the current primary as it joins. The writable instance cannot be rebuilt (switch over first).",
    ),
});
export type RebuildInstanceSpec = z.infer<typeof rebuildInstance>;

export const volumeExpansion = z.object({
  componentName,
  volumeClaimTemplates: z
    .array(
      z.object({
        name: z.string().min(1).describe("A volume claim template of the component (e.g. `data`)."),
        storage: quantity.describe(
          "The new size of every instance's volume of this template, e.g. `20Gi`: no smaller than now.",
        ),
      }),
    )
    .min(1)
    .describe(
      "The volumes to grow. Their StorageClass must allow expansion (allowVolumeExpansion: true); they grow online, without a restart.",
    ),
});
export type VolumeExpansionSpec = z.infer<typeof volumeExpansion>;

export const expose = z.object({
  componentName,
  switch: z
    .enum(["Enable", "Disable"])
    .describe("Enable adds (or changes) the services listed; Disable removes them."),
  services: z
    .array(
      exposedService.extend({
        serviceType: exposedServiceType
          .optional()
          .describe("NodePort or LoadBalancer; required to Enable, ignored to Disable."),
      }),
    )
    .min(1)
    .describe(
      "The services, recorded on the Cluster's component (spec.componentSpecs[].services) so they stay, and owned by its Component so they go with the cluster.",
    ),
});
export type ExposeSpec = z.infer<typeof expose>;

export const custom = z.object({
  componentName,
  opsName: z
    .string()
    .min(1)
    .describe(
      "The operation, as the component's definition declares it in customOps (e.g. `vacuum-analyze`).",
    ),
  parameters: z
    .record(z.string(), z.string())
    .optional()
    .describe(
      "Its parameters, name to value (as strings, e.g. `database: app`), each checked against the type the definition declares.",
    ),
});
export type CustomSpec = z.infer<typeof custom>;

export const upgrade = z.object({
  componentName,
  serviceVersion: z
    .string()
    .min(1)
    .optional()
    .describe(
      "The engine version to run, one the ComponentVersion offers and lets the current one upgrade to (its release's upgradeFrom); unchanged when unset.",
    ),
  componentDef: z
    .string()
    .min(1)
    .optional()
    .describe(
      "The ComponentDefinition to run (an exact name or a prefix, as in the Cluster); unchanged when unset.",
    ),
});
export type UpgradeSpec = z.infer<typeof upgrade>;

export const reconfiguring = z.object({
  componentName,
  parameters: z
    .record(z.string(), z.string())
    .refine((p) => Object.keys(p).length > 0, "name at least one parameter")
    .describe(
      "Parameters to set, name to value (as strings, e.g. `work_mem: 64MB`), each checked against the parameter schema of the component's definition. Parameters not named keep their value. Dynamic ones are applied live through the definition's reconfigure action; any static one restarts the instances, the writable one last after a switchover.",
    ),
});
export type ReconfiguringSpec = z.infer<typeof reconfiguring>;

export const opsBackup = z.object({
  backupName: dnsLabel
    .optional()
    .describe("Name of the Backup created; the OpsRequest's name when unset. It outlives the OpsRequest."),
  method: z.string().optional().describe("The addon's backup method; its default when unset."),
  repo: z.string().optional().describe("The BackupRepo; the cluster's spec.backup.repo when unset."),
  deletionPolicy: z
    .enum(["Delete", "Retain"])
    .optional()
    .describe("The Backup's deletionPolicy (default Delete)."),
});

export const opsRestore = z.object({
  backupName: dnsLabel.describe("A Completed Backup of this cluster (in its namespace)."),
  clusterName: dnsLabel.describe("The new cluster; it must not exist. It copies this cluster's spec."),
  pointInTime: z
    .string()
    .datetime({ offset: true })
    .optional()
    .describe("Recover to this moment (RFC 3339) instead of the end of the backup."),
});

export const opsRequestSpec = z.object({
  clusterName: dnsLabel.describe("The Cluster (in the same namespace) the operation acts on."),
  type: opsType.describe(
    "What to do: Restart, Stop, Start, HorizontalScaling, VerticalScaling, Switchover, Reconfiguring, Custom, Upgrade, RebuildInstance, VolumeExpansion, Expose, Backup or Restore. Fill in the section of the same name. Immutable.",
  ),
  cancel: z
    .boolean()
    .optional()
    .describe(
      "true cancels the operation: a Pending one never starts; a Running HorizontalScaling, VerticalScaling, Reconfiguring, Upgrade, Stop or Start puts back what it changed (phase Cancelling, then Cancelled). A Running Restart, Switchover, Custom, RebuildInstance, VolumeExpansion or Expose cannot be cancelled.",
    ),
  timeoutSeconds: z
    .number()
    .int()
    .min(1)
    .optional()
    .describe(
      "Seconds the operation may run (from its start, not counting time queued); beyond them it is Aborted and what it already changed stays.",
    ),
  progressDeadlineSeconds: z
    .number()
    .int()
    .min(1)
    .default(600)
    .describe(
      "Seconds without any progress (no instance changing state) after which the operation Fails, naming the instance it waits for and why. Default 600.",
    ),
  preConditionDeadlineSeconds: z
    .number()
    .int()
    .min(0)
    .default(0)
    .describe(
      "Seconds the operation may wait, once first in its cluster's queue, for the cluster to be in a state it can start from (e.g. Running) before it Fails. Default 0: it Fails at once.",
    ),
  ttlSecondsAfterSucceed: z
    .number()
    .int()
    .min(0)
    .optional()
    .describe("Seconds after it Succeeded when the OpsRequest is deleted; kept when unset."),
  ttlSecondsAfterUnsuccessfulCompletion: z
    .number()
    .int()
    .min(0)
    .optional()
    .describe(
      "Seconds after it Failed, was Cancelled or Aborted when the OpsRequest is deleted; kept when unset.",
    ),
  restart: componentList(
    "restart (all instances of each, one at a time, the writable one last after a switchover)",
  ),
  stop: componentList("stop (pods deleted, volumes and data kept)"),
  start: componentList("start again on their volumes"),
  horizontalScaling: z
    .array(horizontalScaling)
    .optional()
    .describe("For HorizontalScaling: the replica change of each component, handled one after another."),
  verticalScaling: z
    .array(verticalScaling)
    .optional()
    .describe("For VerticalScaling: the new resources of each component, handled one after another."),
  switchover: z
    .array(switchover)
    .optional()
    .describe("For Switchover: the components whose writable role moves, one after another."),
  reconfiguring: z
    .array(reconfiguring)
    .optional()
    .describe(
      "For Reconfiguring: the new parameters of each component, handled one after another. If an instance refuses them, every component goes back to its previous parameters and the operation Fails with the engine's message.",
    ),
  custom: custom
    .optional()
    .describe("For Custom: an operation the component's addon declares, with its parameters."),
  upgrade: z
    .array(upgrade)
    .optional()
    .describe(
      "For Upgrade: the new version or definition of each component, handled one after another; instances restart one at a time, the writable one last after a switchover.",
    ),
  rebuildInstance: z
    .array(rebuildInstance)
    .optional()
    .describe("For RebuildInstance: the instances of each component whose data is made anew."),
  volumeExpansion: z
    .array(volumeExpansion)
    .optional()
    .describe("For VolumeExpansion: the new volume sizes of each component, handled one after another."),
  expose: z
    .array(expose)
    .optional()
    .describe("For Expose: the services of each component to add or remove, handled one after another."),
  backup: opsBackup
    .optional()
    .describe("For Backup: the backup to take of the cluster; every field is optional."),
  restore: opsRestore
    .optional()
    .describe("For Restore: the new cluster to make from a backup of this cluster."),
});
export type OpsRequestSpec = z.infer<typeof opsRequestSpec>;

export const opsStepPhase = z.enum(["Pending", "Running", "Succeed", "Failed"]);
export type OpsStepPhase = z.infer<typeof opsStepPhase>;

export const opsStep = z.object({
  name: z.string().describe("What the step does, e.g. `restart postgresql`."),
  component: z.string().optional().describe("The component it acts on."),
  phase: opsStepPhase.describe(
    "Pending (not begun), Running (its change is written; waiting for the cluster to reach it), Succeed or Failed.",
  ),
  startTime: z.string().optional().describe("When it began (RFC 3339)."),
  completionTime: z.string().optional().describe("When it ended (RFC 3339)."),
  message: z.string().optional().describe("Where it stands, or why it failed."),
  marker: z
    .string()
    .optional()
    .describe(
      "For a restart: the restart marker written for the component (instances carrying it restarted).",
    ),
  from: z
    .string()
    .optional()
    .describe("For a switchover: the instance holding the writable role at the start."),
  candidate: z
    .string()
    .optional()
    .describe("For a switchover: the instance chosen to take the writable role."),
  attempts: z.number().int().optional().describe("For a switchover: how many times its action ran."),
  attemptedAt: z
    .string()
    .optional()
    .describe(
      "For a switchover: when its action last ran (RFC 3339); the next attempt waits a while after it.",
    ),
  refusal: z
    .string()
    .optional()
    .describe(
      "For a reconfiguring: why an instance refused the new parameters; the previous ones are being put back, then the operation Fails with it.",
    ),
  targets: z
    .array(z.string())
    .optional()
    .describe("For a custom operation: the instances its action runs in, in this order."),
  completed: z
    .array(z.string())
    .optional()
    .describe("For a custom operation: the instances its action succeeded in."),
  instance: z.string().optional().describe("For a rebuild: the instance (pod name) it rebuilds."),
  replaced: z
    .array(z.string())
    .optional()
    .describe(
      "For a rebuild: UIDs of the instance's pod and volume claims as they were; objects with other UIDs are the rebuilt ones.",
    ),
});
export type OpsStep = z.infer<typeof opsStep>;

export const instanceProgressPhase = z.enum(["Pending", "Processing", "Succeed", "Failed"]);
export type InstanceProgressPhase = z.infer<typeof instanceProgressPhase>;

export const instanceProgress = z.object({
  name: z.string().describe("The instance (pod name)."),
  component: z.string().describe("Its component."),
  action: z
    .string()
    .describe(
      "What happens to it: Restart, Stop, Start, Create, Remove, Update, Switchover, Rebuild or Reconfigure.",
    ),
  phase: instanceProgressPhase.describe("Pending (not yet), Processing, Succeed or Failed."),
  since: z.string().describe("When it entered this phase (RFC 3339)."),
  message: z.string().optional().describe("What it waits for, e.g. the scheduler's reason."),
});
export type InstanceProgress = z.infer<typeof instanceProgress>;

export const componentConfiguration = z.object({
  replicas: z.number().int().optional().describe("Its replicas."),
  offlineInstances: z.array(z.string()).optional().describe("Its offlineInstances."),
  resources: resourceRequirements.optional().describe("Its resources."),
  stop: z.boolean().optional().describe("Its stop flag."),
  serviceVersion: z.string().optional().describe("Its serviceVersion."),
  componentDef: z.string().optional().describe("Its componentDef."),
  parameters: z.record(z.string(), z.string()).optional().describe("Its parameters."),
});
export type ComponentConfiguration = z.infer<typeof componentConfiguration>;

export const opsRequestStatus = z
  .object({
    phase: opsPhase
      .optional()
      .describe(
        "Pending (queued or waiting for its precondition), Running, Cancelling (putting back what it changed), Succeed, Failed, Cancelled or Aborted (timed out).",
      ),
    reason: z.string().optional().describe("One CamelCase word saying why it is in its phase."),
    message: z.string().optional().describe("What it waits for, or why it ended as it did."),
    clusterUID: z
      .string()
      .optional()
      .describe("UID of the cluster it acts on: a new cluster of the same name is not that cluster."),
    startTimestamp: z.string().optional().describe("When it left Pending (RFC 3339)."),
    completionTimestamp: z.string().optional().describe("When it reached its final phase (RFC 3339)."),
    lastProgressTime: z
      .string()
      .optional()
      .describe("When an instance or step last changed state (RFC 3339)."),
    progress: z.string().optional().describe("Instances done out of those it acts on, e.g. `2/3`."),
    steps: z.array(opsStep).optional().describe("Its steps, fixed when it starts, done in order."),
    instances: z
      .array(instanceProgress)
      .optional()
      .describe("Each instance it acts on: what happens to it, in which phase and since when."),
    lastConfiguration: z
      .record(z.string(), componentConfiguration)
      .optional()
      .describe("What it changed, per component, as it was before: cancelling puts this back."),
    conditions: z.array(condition).optional().describe("Queued, Started and Completed, with reasons."),
  })
  .describe("What the operator did and observed; written by the operator only.");
export type OpsRequestStatus = z.infer<typeof opsRequestStatus>;

export const opsRequest = z
  .object({
    apiVersion: z.string(),
    kind: z.literal("OpsRequest"),
    metadata: objectMeta,
    spec: opsRequestSpec.describe("The operation wanted."),
    status: opsRequestStatus.optional(),
  })
  .describe(
    "A day-2 operation on a Cluster (restart, stop, start, scale, switchover, reconfigure, upgrade, custom operations, rebuild, expand, expose), run by the operator step by step with its progress in status. Operations on one cluster run one at a time, in creation order.",
  );
export type OpsRequest = z.infer<typeof opsRequest>;
