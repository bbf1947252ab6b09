import { z } from "zod";
import { action, condition, literalEnv, objectMeta, preserved, volumeClaimTemplate } from "./common.js";
import { instanceTemplate } from "./cluster.js";
import { role } from "./definitions.js";

export const instanceSetSpec = z.object({
  replicas: z
    .number()
    .int()
    .min(0)
    .describe(
      "Number of instances, instance templates included. Scale-in removes the highest ordinals first (the writable instance last) and deletes their volumes.",
    ),
  selector: z
    .object({
      matchLabels: z
        .record(z.string(), z.string())
        .describe("Labels every instance's pod carries; must match the template's."),
    })
    .describe("How the set finds its pods."),
  serviceName: z
    .string()
    .describe("Headless Service giving every instance a stable DNS name `<pod>.<service>`."),
  template: preserved(z.looseObject({})).describe(
    "Pod template of every instance (a core/v1 PodTemplateSpec); instance templates override parts of it.",
  ),
  volumeClaimTemplates: z
    .array(volumeClaimTemplate)
    .optional()
    .describe("Persistent volumes of every instance; the claims outlive the pods and go only on scale-in."),
  instances: z.array(instanceTemplate).optional().describe("Groups of instances with their own overrides."),
  offlineInstances: z
    .array(z.string())
    .optional()
    .describe("Pod names of instances to remove; their ordinals are skipped and never reused."),
  roles: z
    .array(role)
    .optional()
    .describe("The definition's roles: the update order and which instance is writable."),
  podManagementPolicy: z
    .enum(["OrderedReady", "Parallel"])
    .default("Parallel")
    .describe(
      "OrderedReady creates instances one after another, each ready first; Parallel (default) creates them at once.",
    ),
  updateStrategy: z
    .enum(["Serial", "Parallel"])
    .default("Serial")
    .describe(
      "Serial (default) replaces outdated instances one at a time, lowest updatePriority first, the writable one after a switchover; Parallel replaces them all at once.",
    ),
  lifecycleActions: z
    .object({
      switchover: action
        .optional()
        .describe("Moves the writable role away before the writable instance is restarted or removed."),
      promote: action
        .optional()
        .describe("With operator-arbitrated HA: run on the candidate after the old primary stepped down."),
      memberJoin: action.optional().describe("Adds an instance to the engine's membership once it is ready."),
      memberLeave: action
        .optional()
        .describe("Removes an instance from the membership before it is deleted."),
    })
    .optional()
    .describe("Membership actions the InstanceSet runs itself around scaling and updates."),
  actionEnv: literalEnv
    .optional()
    .describe("Literal environment every action receives (the component's resolved vars)."),
  stopped: z.boolean().optional().describe("true: instances stay stopped (pods deleted, volumes kept)."),
});

export const instanceStatus = z.object({
  name: z.string().describe("Pod name of the instance."),
  template: z.string().optional().describe("The instance template it comes from; none for the default."),
  ordinal: z.number().int().describe("The instance's ordinal, the number its name ends with."),
  role: z.string().optional().describe("Its role, as its tessera.dev/role label shows."),
  ready: z.boolean().describe("Whether its pod is ready."),
  revision: z.string().optional().describe("Revision of its pod; outdated when it differs from the set's."),
  memberJoined: z.boolean().optional().describe("true once the memberJoin action succeeded for it."),
  reason: z
    .string()
    .optional()
    .describe(
      "Why it is not ready, in one word: Unschedulable, ErrImagePull, CrashLoopBackOff, ...; absent when nothing is wrong.",
    ),
  message: z
    .string()
    .optional()
    .describe("The details of reason: the scheduler's or the node's own message."),
});

export const instanceSetStatus = z
  .object({
    observedGeneration: z.number().int().optional().describe("The metadata.generation this status reflects."),
    replicas: z.number().int().optional().describe("Number of instances wanted now."),
    readyReplicas: z.number().int().optional().describe("Wanted instances whose pod is ready."),
    availableReplicas: z.number().int().optional().describe("Wanted instances serving; the ready ones."),
    updatedReplicas: z.number().int().optional().describe("Wanted instances running the current revision."),
    selector: z
      .string()
      .optional()
      .describe("Label selector of the set's pods, as a string (for the scale subresource)."),
    currentRevision: z
      .string()
      .optional()
      .describe("Revisions the instances all ran when the set was last settled, comma-separated."),
    updateRevision: z.string().optional().describe("Revisions the instances should run, comma-separated."),
    instances: z.array(instanceStatus).optional().describe("Each instance, wanted or being removed."),
    switchover: z
      .object({
        pod: z.string().describe("The writable instance being switched away from."),
        candidate: z.string().optional().describe("The instance meant to take the writable role."),
        startedAt: z.string().describe("When the switchover started (RFC 3339)."),
        promotedAt: z
          .string()
          .optional()
          .describe("Set once the candidate was promoted, which also wakes the HA loop to adopt it at once."),
      })
      .optional()
      .describe("A switchover the InstanceSet started (before updating or removing the writable instance)."),
    conditions: z
      .array(condition)
      .optional()
      .describe("Ready: every wanted instance ready, updated and joined, and no removed one left."),
  })
  .describe("What the operator observed; written by the operator only.");

export const instanceSet = z
  .object({
    apiVersion: z.string(),
    kind: z.literal("InstanceSet"),
    metadata: objectMeta,
    spec: instanceSetSpec.describe(
      "The instances wanted; written by the Component controller from its Component (change the Cluster instead).",
    ),
    status: instanceSetStatus.optional(),
  })
  .describe(
    "A set of database instances with stable names (`<name>-<ordinal>`), each a pod with its own volumes, updated in role order. Tessera's replacement for a StatefulSet, created for each Component.",
  );

export type InstanceSetSpec = z.infer<typeof instanceSetSpec>;
export type InstanceSetStatus = z.infer<typeof instanceSetStatus>;
export type InstanceStatus = z.infer<typeof instanceStatus>;
export type InstanceSet = z.infer<typeof instanceSet>;
