import type { Action, LifecycleActionName } from "@tessera/api";
import type { VariableGroupName } from "./environment.js";
import { roleProbeOutput } from "./role-probe.js";

/** Variables an action gets beyond those every action gets, and on which occasion. */
export interface ActionVariables {
  readonly group: VariableGroupName;
  /** The occasion, when the action gets different variables on different occasions. */
  readonly when?: string;
}

/** What the operator promises an addon about one lifecycle action, and what it expects back. */
export interface ActionContract {
  readonly purpose: string;
  /** When the operator runs it; absent: a definition may declare it, but this operator never runs it. */
  readonly runs?: string;
  /** Which instance it runs in. */
  readonly target?: string;
  readonly env: readonly ActionVariables[];
  readonly output: { readonly format?: string; readonly description: string };
  /** What the operator does on exit code 0 and on any other outcome (a non-zero code, a timeout). */
  readonly exitCodes: { readonly success: string; readonly failure: string };
}

const ignoredOutput = {
  description: "Ignored. On failure, the last lines of stderr (of stdout when stderr is empty) are reported.",
} as const;

const notRun = {
  env: [],
  output: ignoredOutput,
  exitCodes: { success: "—", failure: "—" },
} as const;

/**
 * Every lifecycle action a ComponentDefinition may declare. The type makes this list and the
 * schema's (`lifecycleActions` in @tessera/api) the same: an action missing here, or one the
 * schema does not know, does not compile.
 */
export const lifecycleContract: { readonly [A in LifecycleActionName]: ActionContract } = {
  roleProbe: {
    purpose:
      "Reports the instance's role, which becomes its `tessera.dev/role` label (services select on it).",
    runs:
      "Every `periodSeconds` (default 1) by the HA loop, for a component whose definition declares roles or " +
      "an HA mode other than `none`, and at once when an instance turns ready without a role label. " +
      "Not while the component is stopped.",
    target:
      "Every running instance, each on its own (`targetPodSelector` does not apply). When its `exec` " +
      "container has a `command` of its own, the probe runs inside the instance: a loop started before " +
      "that command runs it every period with the container's environment, and the operator reads the " +
      "latest answer over the pod network from the agent's server on port 9901 of that container " +
      "(`tessera-agent`); otherwise through " +
      "`pods/exec`, with the variables below.",
    env: [],
    output: roleProbeOutput,
    exitCodes: {
      success: "The role (and position) are taken.",
      failure:
        "The probe failed this round; so does no answer within `timeoutSeconds` (which counts as " +
        "a failed round for each period it spans, at most one short of `failureThreshold`; then no " +
        "answer within `timeoutSeconds` again for each further round while it stays silent; an " +
        "instance whose last 30 probes all answered within an eighth of `timeoutSeconds` is waited " +
        "on for eight times its slowest of them instead, at least `periodSeconds`), an agent " +
        "that cannot be read over the pod network or whose report stopped advancing for ten turns of " +
        "its loop (each allowed `periodSeconds` plus `timeoutSeconds`), or (probed through " +
        "`pods/exec`) an instance whose first declared container port refuses the operator's TCP " +
        "connection (cut off from the network). " +
        "After `failureThreshold` (default 3) failed rounds in a row the " +
        "instance loses its role label; for the recorded primary in `operator` HA mode, failover starts.",
    },
  },
  availableProbe: {
    purpose: "Whether the instance serves requests.",
    ...notRun,
  },
  postProvision: {
    purpose: "Finishes setting up a new component, e.g. registers its instances with each other.",
    runs: "Once, when the component first reaches Running; recorded in `status.completedActions`.",
    target: "Per `targetPodSelector`.",
    env: [],
    output: ignoredOutput,
    exitCodes: {
      success: "Recorded as done; a `postProvisionSucceeded` Event.",
      failure:
        "A `postProvisionFailed` Event and the `PostProvisioned` condition False with the output tail; " +
        "retried every 5 s.",
    },
  },
  preTerminate: {
    purpose: "Lets the engine prepare for the component's deletion.",
    runs: "Once, when the Component is deleted, before its instances are, if any instance is left.",
    target: "Per `targetPodSelector`.",
    env: [],
    output: ignoredOutput,
    exitCodes: {
      success: "Deletion goes on.",
      failure: "A `PreTerminateFailed` Event; deletion goes on (it is not retried).",
    },
  },
  switchover: {
    purpose: "Moves the writable role away from an instance (which steps down).",
    runs:
      "By the InstanceSet before it restarts (rolling update) or removes (scale-in) the writable instance " +
      "while others exist, and by a Switchover operation. The HA loop does not fail over while it is in " +
      "progress (up to 90 s).",
    target: "The writable instance.",
    env: [{ group: "switchover" }],
    output: ignoredOutput,
    exitCodes: {
      success:
        "With `operator` HA mode, `promote` runs on the candidate next; the update or removal waits until " +
        "the candidate holds the writable role.",
      failure:
        "A `SwitchoverFailed` Event; the update or removal waits and the switchover is retried after 10 s " +
        "(a Switchover operation retries at once, three attempts in all).",
    },
  },
  promote: {
    purpose: "Makes the instance the writable one.",
    runs:
      "With `operator` HA mode only: on failover, once the new primary and epoch are recorded (after the " +
      "primary failed `failureThreshold` probe rounds, or at once when it restarted); and on a switchover's " +
      "candidate after `switchover` succeeded.",
    target: "The replica chosen by failover (the most advanced ready one), or the switchover's candidate.",
    env: [
      { group: "failover", when: "on failover" },
      { group: "switchover", when: "after a switchover" },
    ],
    output: ignoredOutput,
    exitCodes: {
      success: "A `Promoted` Event; the pending promotion is cleared.",
      failure:
        "On failover, a `promoteFailed` Event; the promotion stays pending and is retried (at most every " +
        "5 s). After a switchover, a `SwitchoverFailed` Event; the switchover is retried after 10 s.",
    },
  },
  demote: {
    purpose: "Makes a writable instance follow the recorded primary (a returning old primary), or stops it.",
    runs:
      "With `operator` HA mode: when an instance other than the recorded primary reports the writable " +
      "role, and to fence a primary that failed its probes but still serves, before a replica is promoted.",
    target: "That instance.",
    env: [{ group: "failover" }],
    output: ignoredOutput,
    exitCodes: {
      success: "A `Demoted` Event.",
      failure: "A `demoteFailed` Event; retried in a later round (at most every 5 s).",
    },
  },
  detach: {
    purpose:
      "Stops the instance replicating from anyone, so a lost primary can no longer get acknowledgements " +
      "(synchronous replication) from it. Must be idempotent.",
    runs:
      "With `operator` HA mode, when failover starts: on every replica that answered its probe, after the " +
      "lost primary's writable label is removed and before any replica is promoted; again in every round " +
      "until it succeeded on all of them.",
    target: "Each answering replica.",
    env: [{ group: "failover" }],
    output: {
      format: "[<role> [<position>]]",
      description:
        "Optional: the role probe's answer once the replica stopped replicating (same format). Failover " +
        "takes it as the replica's final position instead of probing it again, which saves a step before " +
        "the promotion. Anything else (nothing, a role the definition does not declare) makes failover " +
        "probe the replica. On failure, the last lines of stderr (of stdout when stderr is empty) are reported.",
    },
    exitCodes: {
      success:
        "The replica no longer replicates; once every answering replica is detached, the most advanced one " +
        "(by what detach printed, else by a fresh probe) is promoted.",
      failure: "A `detachFailed` Event; failover waits and retries in the next round.",
    },
  },
  follow: {
    purpose: "Makes a replica replicate from the recorded primary. Must be idempotent.",
    runs:
      "With `operator` HA mode, on every replica whose `tessera.dev/follows-epoch` annotation differs from " +
      "the recorded epoch: on failover, alongside the new primary's promotion (it is the most advanced " +
      "replica: a replica may stream from it before it is writable); otherwise once the recorded primary reports the writable role: after a switchover, and " +
      "once on each new or recreated replica.",
    target: "Each such replica.",
    env: [{ group: "failover" }],
    output: ignoredOutput,
    exitCodes: {
      success: "The pod's `tessera.dev/follows-epoch` annotation is set to the epoch.",
      failure: "A `followFailed` Event; retried in a later round (at most every 5 s).",
    },
  },
  memberJoin: {
    purpose: "Adds a new instance to the engine's membership.",
    runs:
      "Once per instance, after it first turns ready; recorded in the InstanceSet's `status.instances`. " +
      "Until then the instance does not count as a member and the InstanceSet is not Ready.",
    target: "Per `targetPodSelector` (the joining instance is named by the variables).",
    env: [{ group: "memberJoin" }],
    output: ignoredOutput,
    exitCodes: {
      success: "The instance is a member.",
      failure: "A `MemberJoinFailed` Event; retried after 5 s.",
    },
  },
  memberLeave: {
    purpose: "Removes an instance from the engine's membership.",
    runs: "Before scale-in removes an instance that joined (after a switchover if it was writable).",
    target: "Per `targetPodSelector` (the leaving instance is named by the variables).",
    env: [{ group: "memberLeave" }],
    output: ignoredOutput,
    exitCodes: {
      success: "The instance is removed.",
      failure: "A `MemberLeaveFailed` Event; the instance stays and the action is retried after 5 s.",
    },
  },
  readonly: {
    purpose: "Stops the instance from accepting writes.",
    ...notRun,
  },
  readwrite: {
    purpose: "Lets the instance accept writes again.",
    ...notRun,
  },
  reconfigure: {
    purpose: "Applies changed dynamic parameters without a restart.",
    runs:
      "When the Cluster's dynamic parameters (declared `dynamic: true` in a config's `parameters`) change on a Running " +
      "component. Parameters given at creation are rendered into the config files instead.",
    target: "Every ready instance (`targetPodSelector` is `All` whatever the definition says).",
    env: [{ group: "reconfigure" }],
    output: ignoredOutput,
    exitCodes: {
      success: "The parameters are recorded as applied; a `Reconfigured` Event.",
      failure:
        "A `ReconfigureFailed` Event and the `Reconfigured` condition False; retried every 5 s. Some instances may " +
        "already hold the new values, so the parameters it carried are sent again, to every instance, with the next " +
        "values wanted (a Reconfiguring OpsRequest that fails puts the previous ones back this way). The message " +
        "of a Reconfiguring that fails is the action's stderr.",
    },
  },
  accountProvision: {
    purpose: "Creates a system account in the engine.",
    runs:
      "Once per system account without `initAccount`; recorded in `status.completedActions`. While the " +
      "component is created, as soon as its target instance is ready (and, for `Any` with a writable role, " +
      "labelled writable); with `All`, once the component is Running.",
    target: "Per `targetPodSelector`.",
    env: [{ group: "account" }],
    output: ignoredOutput,
    exitCodes: {
      success: "Recorded as done; an `accountProvisionSucceeded` Event.",
      failure:
        "An `accountProvisionFailed` Event and the `AccountsProvisioned` condition False; retried every 5 s.",
    },
  },
  dataDump: {
    purpose: "Exports an instance's data.",
    ...notRun,
  },
  dataLoad: {
    purpose: "Imports data into an instance.",
    ...notRun,
  },
};

/**
 * What the operator promises the action of a custom operation (a ComponentDefinition's
 * `customOps`): unlike a lifecycle action it runs only when an OpsRequest of type Custom asks.
 */
export const customOpsContract: ActionContract = {
  purpose:
    "Performs an operation the addon offers on demand (e.g. a maintenance task on one database), declared with its " +
    "typed `parameters` in the definition's `customOps`. Each declared parameter comes in a variable of its " +
    "own, `TESSERA_PARAM_<NAME>` (its name in upper case; empty when not given), besides the variables " +
    'below; a script reads it quoted (`"$TESSERA_PARAM_DATABASE"`) and never evaluates it.',
  runs:
    "When an OpsRequest of type Custom names it (`spec.custom.opsName`), once the component is Running, after " +
    "its parameters were checked at apply time: an unknown or missing parameter, or a value not of the " +
    "declared type, is refused. An operator restart during the run runs it again on the instance it was " +
    "running on, so it must be safe to repeat.",
  target:
    "Per the operation's `target`: `primary` the writable instance (the first ready one when no role is " +
    "writable); `allReplicas` every ready instance that is not writable; `each` every ready instance, the " +
    "writable one last. One instance after another, each recorded in the OpsRequest's progress.",
  env: [{ group: "customOps" }],
  output: {
    description:
      "The last line of stdout becomes the instance's message in the OpsRequest's progress; the rest is " +
      "ignored. On failure, stderr (trimmed; stdout when stderr is empty) becomes the OpsRequest's message.",
  },
  exitCodes: {
    success:
      "The instance counts as done; the action runs on the next target, and the operation Succeeds after the last.",
    failure:
      "The operation Fails at once with the instance's stderr; the remaining targets are not run. A " +
      "`retryPolicy` retries first, as for any action.",
  },
};

/** Where an action runs, by its `targetPodSelector`. */
export const targetSelectors: { readonly [S in NonNullable<Action["targetPodSelector"]>]: string } = {
  Any: "One ready instance: the writable one when an instance is labelled writable, else the first. The default.",
  All: "Every ready instance, one after another.",
  Role: "Every ready instance labelled with `matchingRole`.",
  Ordinal: "The running instance whose ordinal is `ordinal`.",
};

/** How every action is run and judged. */
export const actionRules = [
  "An `exec` action runs its command in `exec.container` (default: the pod's first container). When that " +
    "container carries the in-pod agent (it is the role probe's container and has a `command` of its own), " +
    "the command runs through the agent, over the pod network, with the container's environment as an " +
    "exec would have it; otherwise, and for an action given a secret (`accountProvision`), through " +
    "`pods/exec`. The environment is exported before the command starts and never appears on a command " +
    "line or in the process list.",
  "An `http` action is a request to the instance's IP on `http.port`; except with `GET`, the environment " +
    "is its JSON body. A 2xx status is success and the body is the output.",
  "Exit code 0 is success. Any other code, running longer than `timeoutSeconds` (default 30; 2 for " +
    "probes) or an exec that cannot start is a failure. With a `retryPolicy`, a failure is retried " +
    "`maxRetries` times (default 3), `retryIntervalSeconds` (default 2) apart, doubling on each attempt, " +
    "before it counts. When no instance matches the selector, the action fails without running.",
] as const;
