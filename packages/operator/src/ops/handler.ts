import type { V1PersistentVolumeClaim, V1Pod, V1StorageClass } from "@kubernetes/client-node";
import type {
  Cluster,
  Component,
  ComponentConfiguration,
  InstanceProgress,
  InstanceSet,
  OpsRequest,
  OpsStep,
  OpsType,
} from "@tessera/api";
import type { OperatorContext } from "../context.js";
import type { DefinitionCatalog, ResolvedCluster } from "../definitions.js";

/** What an operation sees of its cluster: the cluster, its resolved definitions, and per component its objects. */
export interface ClusterView {
  cluster: Cluster;
  resolved: ResolvedCluster;
  /** The Component object of a component (by its name in the cluster). */
  component(name: string): Component | undefined;
  instanceSet(name: string): InstanceSet | undefined;
  /** Every pod of the component, those being deleted included. */
  pods(name: string): V1Pod[];
  /** Every volume claim of the component's instances. */
  claims(name: string): V1PersistentVolumeClaim[];
}

/** What validation may read of the cluster's running state besides its spec. */
export interface ValidationFacts {
  /** The Component object of a component (by its name in the cluster). */
  component(name: string): Component | undefined;
  /** Every StorageClass; unknown when undefined (checks that need them are skipped). */
  storageClasses?: V1StorageClass[];
  /** The installed definitions, to resolve what an operation would change the cluster to. */
  catalog?: DefinitionCatalog;
}

export type InstanceReport = Omit<InstanceProgress, "since">;

/** Where a step (or a cancellation) stands after one look at the cluster. */
export interface StepOutcome {
  state: "running" | "done" | "failed";
  /** Where it stands, or why it failed. */
  message: string;
  /** One CamelCase word for a failure. */
  reason?: string;
  instances: InstanceReport[];
  /** The step is busy though no instance changed (an action running, bounded by its own timeout): not a stall. */
  progressing?: boolean;
}

/** What an operation fixes when it starts; persisted in status so a restarted operator carries on with it. */
export interface OpsPlan {
  steps: OpsStep[];
  /** What it will change, as it is now, per component: what cancelling puts back. */
  lastConfiguration?: Record<string, ComponentConfiguration>;
}

export interface StepContext {
  op: OpsRequest;
  view: ClusterView;
  ctx: OperatorContext;
  /** Persists fields of the current step at once, before the handler goes on (e.g. before an action runs). */
  save(step: Partial<OpsStep>): Promise<void>;
}

/**
 * One type of operation. The runner calls `validate` (also the webhook's
 * check), then `precondition` when the operation is first in its queue,
 * `plan` once as it starts, and `execute` for the current step on every
 * reconcile until the step is done; each call must be idempotent, since the
 * operator can stop between any two of them.
 */
export interface OpsHandler {
  readonly type: OpsType;
  /** Whether a Running operation can be cancelled (it then has `revert`). */
  readonly cancellable: boolean;
  /** Problems with the request against the cluster and its definitions, each naming the field of the OpsRequest. */
  validate(op: OpsRequest, cluster: Cluster, resolved: ResolvedCluster, facts?: ValidationFacts): string[];
  /** Why the operation cannot start now, or undefined when it can. */
  precondition(op: OpsRequest, view: ClusterView): string | undefined;
  plan(op: OpsRequest, view: ClusterView): OpsPlan;
  execute(step: OpsStep, context: StepContext): Promise<StepOutcome>;
  /** Puts back `lastConfiguration` and reports whether the cluster is back there. */
  revert?(context: StepContext): Promise<StepOutcome>;
}
