import { z } from "zod";
import { action, condition, objectMeta, preserved, volumeClaimTemplate } from "./common.js";
import { instanceTemplate } from "./cluster.js";
import { role } from "./definitions.js";

export const instanceSetSpec = z.object({
  replicas: z.number().int().min(0),
  selector: z.object({ matchLabels: z.record(z.string(), z.string()) }),
  /** Headless Service giving every instance a stable DNS name. */
  serviceName: z.string(),
  /** A core/v1 PodTemplateSpec. */
  template: preserved(z.looseObject({})),
  volumeClaimTemplates: z.array(volumeClaimTemplate).optional(),
  instances: z.array(instanceTemplate).optional(),
  offlineInstances: z.array(z.string()).optional(),
  roles: z.array(role).optional(),
  /** OrderedReady creates instances one after another (each ready first); Parallel creates them at once. */
  podManagementPolicy: z.enum(["OrderedReady", "Parallel"]).default("Parallel"),
  updateStrategy: z.enum(["Serial", "Parallel"]).default("Serial"),
  /** Membership actions the InstanceSet runs itself around scaling and updates. */
  lifecycleActions: z
    .object({
      switchover: action.optional(),
      /** With operator-arbitrated HA: run on the candidate after the old primary stepped down. */
      promote: action.optional(),
      memberJoin: action.optional(),
      memberLeave: action.optional(),
    })
    .optional(),
  /** Literal environment every action receives (cluster/component facts). */
  actionEnv: z.array(z.object({ name: z.string(), value: z.string() })).optional(),
  /** Instances stay stopped (pods deleted, volumes kept). */
  stopped: z.boolean().optional(),
});

export const instanceStatus = z.object({
  name: z.string(),
  template: z.string().optional(),
  ordinal: z.number().int(),
  role: z.string().optional(),
  ready: z.boolean(),
  revision: z.string().optional(),
  memberJoined: z.boolean().optional(),
});

export const instanceSetStatus = z.object({
  observedGeneration: z.number().int().optional(),
  replicas: z.number().int().optional(),
  readyReplicas: z.number().int().optional(),
  availableReplicas: z.number().int().optional(),
  updatedReplicas: z.number().int().optional(),
  currentRevision: z.string().optional(),
  updateRevision: z.string().optional(),
  instances: z.array(instanceStatus).optional(),
  /** A switchover the InstanceSet started (before updating or removing the writable instance). */
  switchover: z
    .object({
      pod: z.string(),
      candidate: z.string().optional(),
      startedAt: z.string(),
      /** Set once the candidate was promoted, which also wakes the HA loop to adopt it at once. */
      promotedAt: z.string().optional(),
    })
    .optional(),
  conditions: z.array(condition).optional(),
});

export const instanceSet = z.object({
  apiVersion: z.string(),
  kind: z.literal("InstanceSet"),
  metadata: objectMeta,
  spec: instanceSetSpec,
  status: instanceSetStatus.optional(),
});

export type InstanceSetSpec = z.infer<typeof instanceSetSpec>;
export type InstanceSetStatus = z.infer<typeof instanceSetStatus>;
export type InstanceStatus = z.infer<typeof instanceStatus>;
export type InstanceSet = z.infer<typeof instanceSet>;
