import type { V1EnvVar, V1Pod } from "@kubernetes/client-node";
import { names, type InstanceSet } from "@tessera/api";

/** One variable of the contract: a name an addon's scripts may read, and what it holds. */
export interface VariableSpec {
  readonly name: `TESSERA_${string}`;
  readonly meaning: string;
}

/** Variables that are always given together, e.g. everything about the joining member. */
export interface VariableGroup {
  readonly title: string;
  readonly variables: readonly VariableSpec[];
}

/**
 * Every `TESSERA_*` variable of the contract, by group. Scripts of the bundled addons read only
 * these; the builders below are the only code that sets them.
 */
export const variables = {
  pod: {
    title: "The instance itself",
    variables: [
      { name: "TESSERA_POD_NAME", meaning: "the instance's pod name, `<cluster>-<component>-<ordinal>`" },
      { name: "TESSERA_POD_IP", meaning: "the pod's IP address; servers listen on it" },
      {
        name: "TESSERA_POD_FQDN",
        meaning: "the pod's stable DNS name, `<pod>.<headless service>.<namespace>.svc.cluster.local`",
      },
    ],
  },
  component: {
    title: "The component",
    variables: [
      { name: "TESSERA_CLUSTER_NAME", meaning: "the Cluster's name" },
      { name: "TESSERA_NAMESPACE", meaning: "the namespace of the cluster" },
      { name: "TESSERA_COMP_NAME", meaning: "the component's name in its cluster (the topology's name)" },
      { name: "TESSERA_FULL_COMP_NAME", meaning: "the Component object's name, `<cluster>-<component>`" },
      { name: "TESSERA_COMP_REPLICAS", meaning: "the number of instances wanted" },
      {
        name: "TESSERA_HEADLESS_SERVICE",
        meaning: "the headless Service that gives instances their DNS names",
      },
      { name: "TESSERA_POD_NAME_LIST", meaning: "the wanted instances' pod names, comma-separated" },
      {
        name: "TESSERA_POD_FQDN_LIST",
        meaning: "the wanted instances' FQDNs, comma-separated, in the same order",
      },
    ],
  },
  account: {
    title: "The account to provision",
    variables: [
      { name: "TESSERA_ACCOUNT_NAME", meaning: "the system account's name" },
      { name: "TESSERA_ACCOUNT_PASSWORD", meaning: "its generated password (from its Secret)" },
      {
        name: "TESSERA_ACCOUNT_STATEMENT",
        meaning: "the account's `statement` from the definition; empty when it has none",
      },
    ],
  },
  reconfigure: {
    title: "The parameters to apply",
    variables: [
      {
        name: "TESSERA_CONFIG_PARAMETERS",
        meaning:
          'a JSON object of the dynamic parameters that changed, name → new value; a removed parameter maps to ""',
      },
    ],
  },
  memberJoin: {
    title: "The joining instance",
    variables: [
      { name: "TESSERA_JOIN_MEMBER_POD_NAME", meaning: "the pod name of the instance that joins" },
      { name: "TESSERA_JOIN_MEMBER_POD_FQDN", meaning: "its FQDN" },
    ],
  },
  memberLeave: {
    title: "The leaving instance",
    variables: [
      { name: "TESSERA_LEAVE_MEMBER_POD_NAME", meaning: "the pod name of the instance that leaves" },
      { name: "TESSERA_LEAVE_MEMBER_POD_FQDN", meaning: "its FQDN" },
    ],
  },
  switchover: {
    title: "The switchover",
    variables: [
      { name: "TESSERA_PRIMARY_POD_NAME", meaning: "the writable instance the role moves away from" },
      { name: "TESSERA_PRIMARY_POD_FQDN", meaning: "its FQDN" },
      {
        name: "TESSERA_OLD_PRIMARY_POD_NAME",
        meaning: "the same instance: the former primary once the switchover is done",
      },
      { name: "TESSERA_OLD_PRIMARY_POD_FQDN", meaning: "its FQDN" },
      {
        name: "TESSERA_CANDIDATE_POD_NAME",
        meaning:
          "the instance meant to take the role: a Switchover operation's candidate, else the lowest-ordinal other ready one; empty if none",
      },
      { name: "TESSERA_CANDIDATE_POD_FQDN", meaning: "its FQDN; empty if none" },
    ],
  },
  customOps: {
    title: "The custom operation",
    variables: [
      {
        name: "TESSERA_OPS_NAME",
        meaning: "the operation's name, as the definition's customOps declares it",
      },
      { name: "TESSERA_OPS_REQUEST_NAME", meaning: "the OpsRequest that runs it" },
      {
        name: "TESSERA_OPS_PARAMETERS",
        meaning:
          "a JSON object of the parameters given, name → value (strings); a parameter not given is absent",
      },
    ],
  },
  failover: {
    title: "The operator's record of the primary",
    variables: [
      {
        name: "TESSERA_EPOCH",
        meaning: "the epoch of the recorded primary; every change of primary raises it",
      },
      {
        name: "TESSERA_PRIMARY_POD_NAME",
        meaning: "the recorded primary (on failover, the instance being promoted); empty if none",
      },
      { name: "TESSERA_PRIMARY_POD_FQDN", meaning: "its FQDN; empty if none" },
      {
        name: "TESSERA_OLD_PRIMARY_POD_NAME",
        meaning: "the primary the last failover replaced; empty if there was none",
      },
      { name: "TESSERA_OLD_PRIMARY_POD_FQDN", meaning: "its FQDN; empty if none" },
    ],
  },
  backup: {
    title: "A backup method's command (in the backup pod)",
    variables: [
      { name: "TESSERA_BACKUP_NAME", meaning: "the Backup being taken" },
      { name: "TESSERA_BACKUP_TARGET_POD_NAME", meaning: "the instance to read" },
      { name: "TESSERA_BACKUP_TARGET_POD_FQDN", meaning: "its FQDN; the command reads it over the network" },
      {
        name: "TESSERA_BACKUP_META",
        meaning: "a file for `key=value` lines about the backup: startPosition, endPosition, engineVersion",
      },
      {
        name: "TESSERA_BACKUP_WORK_DIR",
        meaning: "a writable directory on the node for temporary files, emptied with the backup pod",
      },
      {
        name: "TESSERA_BACKUP_COMPRESSION",
        meaning:
          "set (e.g. `zstd`) only for a method that declares `compresses`: write the data compressed so, and it is stored as written; unset: write it as it is",
      },
    ],
  },
  restore: {
    title: "A backup method's restore command (an init container of a new instance)",
    variables: [
      {
        name: "TESSERA_RESTORE_DIR",
        meaning:
          "where the backup was fetched on the data volume: `backup` (the data: one file, or with `restore.unpack` the directory the archive was unpacked to), `logs/` (archived logs); absent for instances that copy from a restored one",
      },
      { name: "TESSERA_RESTORE_BACKUP", meaning: "the Backup restored" },
      {
        name: "TESSERA_RESTORE_TIME",
        meaning: "the moment to recover to (RFC 3339); unset: the end of the backup",
      },
    ],
  },
  logArchive: {
    title: "The engine of a component archiving its logs",
    variables: [
      {
        name: "TESSERA_ARCHIVE_DIR",
        meaning:
          "the directory shared with the archiver: put a finished log file into `outbox/`, wait for `done/<name>` or `failed/<name>`; unset when the cluster does not archive",
      },
    ],
  },
} as const satisfies Record<string, VariableGroup>;

export type VariableGroupName = keyof typeof variables;

/** Variables whose values are secret: an action given one never leaves an encrypted channel. */
export const secretVariables: ReadonlySet<string> = new Set<NamesOf<typeof variables.account>>([
  "TESSERA_ACCOUNT_PASSWORD",
]);

type NamesOf<G extends VariableGroup> = G["variables"][number]["name"];

/** One value per declared variable: a missing or misspelt name does not compile. */
export type ValuesOf<G extends VariableGroup> = { readonly [N in NamesOf<G>]: string };

/** The values of a group, keyed and ordered as declared. */
function valuesOf<G extends VariableGroup>(group: G, values: ValuesOf<G>): Record<string, string> {
  return Object.fromEntries(group.variables.map((v) => [v.name, values[v.name as NamesOf<G>]]));
}

declare const built: unique symbol;
/** An action's environment; made only by the builders of this module. */
export type ActionEnv = Readonly<Record<string, string>> & { readonly [built]: true };

const asActionEnv = (env: Record<string, string>) => env as ActionEnv;

/** The facts about a component every instance and every action gets. */
export function componentFacts(facts: {
  cluster: string;
  namespace: string;
  shortName: string;
  fullName: string;
  headlessService: string;
  pods: string[];
}): Record<string, string> {
  return valuesOf(variables.component, {
    TESSERA_CLUSTER_NAME: facts.cluster,
    TESSERA_NAMESPACE: facts.namespace,
    TESSERA_COMP_NAME: facts.shortName,
    TESSERA_FULL_COMP_NAME: facts.fullName,
    TESSERA_COMP_REPLICAS: String(facts.pods.length),
    TESSERA_HEADLESS_SERVICE: facts.headlessService,
    TESSERA_POD_NAME_LIST: facts.pods.join(","),
    TESSERA_POD_FQDN_LIST: facts.pods
      .map((p) => names.podFQDN(p, facts.headlessService, facts.namespace))
      .join(","),
  });
}

/**
 * The instance's own variables as container environment. The FQDN refers to the name, so the
 * name is declared first.
 */
export function podEnv(headlessService: string, namespace: string): V1EnvVar[] {
  const sources: { readonly [N in NamesOf<typeof variables.pod>]: Omit<V1EnvVar, "name"> } = {
    TESSERA_POD_NAME: { valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
    TESSERA_POD_IP: { valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
    TESSERA_POD_FQDN: { value: names.podFQDN("$(TESSERA_POD_NAME)", headlessService, namespace) },
  };
  return variables.pod.variables.map((v) => ({ name: v.name, ...sources[v.name] }));
}

/** The variables of the instance an action runs in. */
export function targetPodEnv(pod: V1Pod, namespace: string): Record<string, string> {
  const name = pod.metadata!.name!;
  return valuesOf(variables.pod, {
    TESSERA_POD_NAME: name,
    TESSERA_POD_IP: pod.status?.podIP ?? "",
    TESSERA_POD_FQDN: names.podFQDN(name, pod.spec?.subdomain ?? "", namespace),
  });
}

/** What the builders start from: the component's literal action environment and its DNS names. */
export interface ComponentEnv {
  namespace: string;
  headlessService: string;
  /** The environment of an action without variables of its own (roleProbe, postProvision, preTerminate). */
  base: ActionEnv;
}

/**
 * The component's literal action environment is the InstanceSet's `actionEnv`: the component
 * facts and the definition's non-secret vars, as resolved when the InstanceSet was written.
 */
export function componentEnv(
  namespace: string,
  headlessService: string,
  set: InstanceSet | undefined,
): ComponentEnv {
  return {
    namespace,
    headlessService,
    base: asActionEnv(Object.fromEntries((set?.spec.actionEnv ?? []).map((e) => [e.name, e.value]))),
  };
}

const fqdn = (scope: ComponentEnv, pod: string | undefined) =>
  pod ? names.podFQDN(pod, scope.headlessService, scope.namespace) : "";

/** accountProvision: one system account. */
export function accountEnv(
  scope: ComponentEnv,
  account: { name: string; password: string; statement?: string },
): ActionEnv {
  return asActionEnv({
    ...scope.base,
    ...valuesOf(variables.account, {
      TESSERA_ACCOUNT_NAME: account.name,
      TESSERA_ACCOUNT_PASSWORD: account.password,
      TESSERA_ACCOUNT_STATEMENT: account.statement ?? "",
    }),
  });
}

/** reconfigure: the dynamic parameters that changed ("" for a removed one). */
export function reconfigureEnv(scope: ComponentEnv, changed: Record<string, string>): ActionEnv {
  return asActionEnv({
    ...scope.base,
    ...valuesOf(variables.reconfigure, { TESSERA_CONFIG_PARAMETERS: JSON.stringify(changed) }),
  });
}

export function memberJoinEnv(scope: ComponentEnv, pod: string): ActionEnv {
  return asActionEnv({
    ...scope.base,
    ...valuesOf(variables.memberJoin, {
      TESSERA_JOIN_MEMBER_POD_NAME: pod,
      TESSERA_JOIN_MEMBER_POD_FQDN: fqdn(scope, pod),
    }),
  });
}

export function memberLeaveEnv(scope: ComponentEnv, pod: string): ActionEnv {
  return asActionEnv({
    ...scope.base,
    ...valuesOf(variables.memberLeave, {
      TESSERA_LEAVE_MEMBER_POD_NAME: pod,
      TESSERA_LEAVE_MEMBER_POD_FQDN: fqdn(scope, pod),
    }),
  });
}

/** switchover, and the promote of its candidate that follows it. */
export function switchoverEnv(
  scope: ComponentEnv,
  primary: string,
  candidate: string | undefined,
): ActionEnv {
  return asActionEnv({
    ...scope.base,
    ...valuesOf(variables.switchover, {
      TESSERA_PRIMARY_POD_NAME: primary,
      TESSERA_PRIMARY_POD_FQDN: fqdn(scope, primary),
      TESSERA_OLD_PRIMARY_POD_NAME: primary,
      TESSERA_OLD_PRIMARY_POD_FQDN: fqdn(scope, primary),
      TESSERA_CANDIDATE_POD_NAME: candidate ?? "",
      TESSERA_CANDIDATE_POD_FQDN: fqdn(scope, candidate),
    }),
  });
}

/** Where the variables of a custom operation's parameters begin. */
export const CUSTOM_OPS_PARAMETER_PREFIX = "TESSERA_PARAM_";

/** The variable a custom operation's parameter comes in: the prefix and its name in upper case. */
export function customOpsParameterVariable(parameter: string): `TESSERA_${string}` {
  return `${CUSTOM_OPS_PARAMETER_PREFIX}${parameter.toUpperCase()}`;
}

/**
 * A custom operation: its name, its OpsRequest, and each declared parameter in a variable of its
 * own (empty when not given), besides all of them as JSON. Values are never part of a command
 * line: the runner hands every variable over on stdin, quoted.
 */
export function customOpsEnv(
  scope: ComponentEnv,
  op: { name: string; request: string; declared: readonly string[]; given: Readonly<Record<string, string>> },
): ActionEnv {
  return asActionEnv({
    ...scope.base,
    ...valuesOf(variables.customOps, {
      TESSERA_OPS_NAME: op.name,
      TESSERA_OPS_REQUEST_NAME: op.request,
      TESSERA_OPS_PARAMETERS: JSON.stringify(op.given),
    }),
    ...Object.fromEntries(op.declared.map((p) => [customOpsParameterVariable(p), op.given[p] ?? ""])),
  });
}

/** promote and demote run by the HA loop, from the recorded primary and epoch. */
export function failoverEnv(
  scope: ComponentEnv,
  ha: { epoch?: number; primary?: string; oldPrimary?: string },
): ActionEnv {
  return asActionEnv({
    ...scope.base,
    ...valuesOf(variables.failover, {
      TESSERA_EPOCH: String(ha.epoch ?? 0),
      TESSERA_PRIMARY_POD_NAME: ha.primary ?? "",
      TESSERA_PRIMARY_POD_FQDN: fqdn(scope, ha.primary),
      TESSERA_OLD_PRIMARY_POD_NAME: ha.oldPrimary ?? "",
      TESSERA_OLD_PRIMARY_POD_FQDN: fqdn(scope, ha.oldPrimary),
    }),
  });
}
