import type { V1ConfigMap, V1Pod, V1Service } from "@kubernetes/client-node";
import {
  API_VERSION,
  labels,
  type ClusterPhase,
  type Component,
  type Action,
  type ComponentDefinition,
  type InstanceSet,
  type Release,
  type BackupRepo,
} from "@tessera/api";
import {
  Controller,
  addFinalizer,
  errorMessage,
  hasFinalizer,
  labelSelector,
  objectKey,
  removeFinalizer,
  updateStatus,
  type Informer,
  type ReconcileResult,
} from "@tessera/kube";
import { accountEnv, componentEnv, reconfigureEnv, type ComponentEnv } from "../actions/contract/index.js";
import { selectTargets, type RunOptions } from "../actions/runner.js";
import { applyUnlessCurrent } from "../apply.js";
import { isWritable } from "../instanceset/plan.js";
import { summariseNotReady } from "../instanceset/readiness.js";
import { getCondition, setCondition } from "../conditions.js";
import type { OperatorContext } from "../context.js";
import { DefinitionError, type DefinitionCatalog } from "../definitions.js";
import { finalizers, names } from "../naming.js";
import { ensureComponentSecrets, readAccountPassword } from "./accounts.js";
import { renderFiles, resourceFacts, type TemplateContext } from "./render.js";
import { resolveVars, VarError, type SiblingComponent } from "./vars.js";
import {
  buildConfigMap,
  buildInstanceSet,
  buildServices,
  componentLabels,
  type WorkloadInput,
} from "./workload.js";
import { splitParameters } from "../parameters.js";
import {
  DataProtectionError,
  instanceDataProtection,
  restoreCompleteEnv,
} from "../backup/component-protection.js";

const KIND = "Component";
const PROVISIONED = "provisioned";

/** A failed action, reported as a False condition of this type. */
type ActionFailure = { type: string; message: string };

/** Where the component's actions run; each action's environment is built from `component`. */
type ActionScope = Omit<RunOptions, "env"> & { component: ComponentEnv };

interface Resolved {
  compDef: ComponentDefinition;
  release: Release;
  cluster: string;
  shortName: string;
}

/**
 * Turns a Component into its parts: account Secrets, rendered config and
 * script ConfigMaps, an env ConfigMap of resolved vars, role-selected
 * Services and the InstanceSet; runs the run-once lifecycle actions; and
 * reports the component's phase.
 */
export class ComponentController {
  readonly controller: Controller;
  private readonly components: Informer<Component>;
  private readonly sets: Informer<InstanceSet>;
  private readonly configMaps: Informer<V1ConfigMap>;
  private readonly services: Informer<V1Service>;
  private readonly pods: Informer<V1Pod>;
  private readonly repos: Informer<BackupRepo>;
  /**
   * Run-once markers this process wrote, by component key and uid. They only ever grow, and a
   * reconcile right after a status write may still see the older status in the cache: without
   * them it would run those actions again.
   */
  private readonly completedWritten = new Map<string, { uid: string; markers: Set<string> }>();
  /**
   * Components whose Secrets (accounts, agent token) this process has seen exist (key → uid and account names).
   * A Secret is created once and never replaced, so it is looked up once per component (and
   * again if the definition names other accounts), not on every reconcile.
   */
  private readonly secretsEnsured = new Map<string, string>();

  constructor(
    private readonly ctx: OperatorContext,
    private readonly catalog: DefinitionCatalog,
  ) {
    const managed = { labelSelector: `${labels.managedBy}=tessera` };
    this.components = ctx.informers.get<Component>(API_VERSION, KIND);
    this.sets = ctx.informers.get<InstanceSet>(API_VERSION, "InstanceSet");
    this.configMaps = ctx.informers.get<V1ConfigMap>("v1", "ConfigMap", managed);
    this.services = ctx.informers.get<V1Service>("v1", "Service", managed);
    this.pods = ctx.informers.get<V1Pod>("v1", "Pod", managed);
    this.repos = ctx.informers.get<BackupRepo>(API_VERSION, "BackupRepo");
    this.controller = new Controller({
      name: "component",
      reconcile: (req) => this.reconcile(req.key),
      concurrency: 4,
      logger: ctx.logger,
    })
      .watches(this.components)
      .owns(this.sets, KIND)
      .owns(this.services, KIND)
      .watchesMapped(this.configMaps, (cm) => this.usersOfTemplate(cm));
    // A new or changed definition may unblock objects waiting for it.
    catalog.onChange(() => {
      for (const key of this.components.list().map(objectKey)) this.controller.enqueue(key);
    });
  }

  private usersOfTemplate(cm: V1ConfigMap): string[] {
    if (!cm.metadata?.labels?.[labels.addon]) return [];
    const ref = `${cm.metadata.namespace}/${cm.metadata.name}`;
    return this.components
      .list()
      .filter((c) => {
        const compDef = this.tryCompDef(c.spec.compDef);
        return [...(compDef?.spec.configs ?? []), ...(compDef?.spec.scripts ?? [])].some(
          (t) => `${t.namespace}/${t.template}` === ref,
        );
      })
      .map(objectKey);
  }

  private tryCompDef(name: string): ComponentDefinition | undefined {
    try {
      return this.catalog.componentDefinition(name);
    } catch {
      return undefined;
    }
  }

  /**
   * A component holds a finalizer only when its definition has a preTerminate
   * action, the one step of a deletion that needs the operator; whatever else
   * it owns goes by garbage collection, so a stopped operator holds up the
   * deletion of no other component.
   */
  private async holdForPreTerminate(component: Component): Promise<void> {
    const wanted = Boolean(this.tryCompDef(component.spec.compDef)?.spec.lifecycleActions?.preTerminate);
    const held = hasFinalizer(component, finalizers.component);
    if (wanted && !held) await addFinalizer(this.ctx.client, ref(component), finalizers.component);
    else if (!wanted && held) await removeFinalizer(this.ctx.client, ref(component), finalizers.component);
  }

  async reconcile(key: string): Promise<ReconcileResult | void> {
    const cached = this.components.get(key);
    if (!cached) {
      this.completedWritten.delete(key);
      this.secretsEnsured.delete(key);
      return;
    }
    const component = structuredClone(cached);
    if (component.metadata.deletionTimestamp) return this.finalize(component);
    await this.holdForPreTerminate(component);
    let resolved: Resolved;
    try {
      resolved = this.resolve(component);
    } catch (error) {
      if (!(error instanceof DefinitionError)) throw error;
      await this.fail(component, "DefinitionsResolved", error.reason, error.message, "Failed");
      return;
    }
    let applied: InstanceSet;
    try {
      applied = await this.applyParts(component, resolved);
    } catch (error) {
      if (error instanceof DataProtectionError) {
        await this.fail(
          component,
          "DataProtectionResolved",
          error.reason,
          error.message,
          component.status?.phase ?? "Creating",
        );
        return { requeueAfterMs: 5000 };
      }
      if (error instanceof VarError || error instanceof MissingTemplateError) {
        await this.fail(
          component,
          "VarsResolved",
          error.name,
          error.message,
          component.status?.phase ?? "Creating",
        );
        return { requeueAfterMs: 5000 };
      }
      throw error;
    }
    return this.syncStatus(component, resolved, applied.metadata.generation);
  }

  private resolve(component: Component): Resolved {
    const compDef = this.catalog.componentDefinition(component.spec.compDef, "spec.compDef");
    const release = this.catalog.release(
      compDef.metadata.name!,
      component.spec.serviceVersion,
      "spec.serviceVersion",
    );
    const cluster = component.metadata.labels?.[labels.cluster] ?? component.metadata.name!;
    const shortName = component.metadata.name!.startsWith(`${cluster}-`)
      ? component.metadata.name!.slice(cluster.length + 1)
      : component.metadata.name!;
    return { compDef, release, cluster, shortName };
  }

  private siblings(component: Component, cluster: string): SiblingComponent[] {
    return this.components
      .list(component.metadata.namespace)
      .filter(
        (c) => c.metadata.labels?.[labels.cluster] === cluster && c.metadata.name !== component.metadata.name,
      )
      .flatMap((c) => {
        const compDef = this.tryCompDef(c.spec.compDef);
        return compDef
          ? [{ shortName: c.metadata.name!.slice(cluster.length + 1), component: c, compDef }]
          : [];
      });
  }

  private templateFiles(namespace: string, name: string, user: string): Record<string, string> {
    const cm = this.configMaps.get(`${namespace}/${name}`);
    if (!cm)
      throw new MissingTemplateError(
        `${user}: template ConfigMap ${namespace}/${name} not found (is the addon installed?)`,
      );
    return cm.data ?? {};
  }

  /** Writes every part of the component; returns the InstanceSet as stored (with its new generation). */
  private async applyParts(component: Component, resolved: Resolved): Promise<InstanceSet> {
    const { compDef, cluster, shortName } = resolved;
    const client = this.ctx.client;
    const vars = resolveVars({
      cluster,
      namespace: component.metadata.namespace!,
      self: { shortName, component, compDef },
      siblings: this.siblings(component, cluster),
    });
    const accounts = compDef.spec.systemAccounts ?? [];
    const key = objectKey(component);
    const ensured = `${component.metadata.uid}:${accounts.map((a) => a.name).join(",")}`;
    if (this.secretsEnsured.get(key) !== ensured) {
      await ensureComponentSecrets(client, component, cluster, accounts);
      this.secretsEnsured.set(key, ensured);
    }
    const templateContext: TemplateContext = {
      vars: vars.plain,
      parameters: component.spec.parameters ?? {},
      resources: resourceFacts(component.spec.resources),
      component: {
        name: component.metadata.name!,
        shortName,
        replicas: Number(vars.plain.TESSERA_COMP_REPLICAS),
      },
      cluster,
    };
    const configTemplates: WorkloadInput["configTemplates"] = {};
    const restartingConfigs: WorkloadInput["restartingConfigs"] = {};
    const configMaps: V1ConfigMap[] = [];
    for (const config of compDef.spec.configs ?? []) {
      const files = this.templateFiles(config.namespace, config.template, `config ${config.name}`);
      const rendered = await renderFiles(files, templateContext, `${config.namespace}/${config.template}`);
      configTemplates[config.name] = files;
      if (config.restartOnChange) restartingConfigs[config.name] = rendered;
      configMaps.push(
        buildConfigMap(component, cluster, names.configMap(component.metadata.name!, config.name), rendered),
      );
    }
    for (const script of compDef.spec.scripts ?? []) {
      const files = this.templateFiles(script.namespace, script.template, `script ${script.name}`);
      configMaps.push(
        buildConfigMap(component, cluster, names.configMap(component.metadata.name!, script.name), files),
      );
    }
    configMaps.push(
      buildConfigMap(component, cluster, names.envConfigMap(component.metadata.name!), {
        ...vars.plain,
        ...restoreCompleteEnv(component, this.completedActions(component).has(PROVISIONED)),
      }),
    );
    // Independent of each other: one round trip per reconcile instead of one per object. The
    // InstanceSet comes after them, so pods never start without their configuration.
    const services = buildServices({ component, compDef, cluster });
    await Promise.all([
      ...configMaps.map((cm) => applyUnlessCurrent(client, this.configMaps, cm)),
      ...services.map((service) => applyUnlessCurrent(client, this.services, service)),
      ...this.unwantedServices(component, services).map((service) =>
        client.delete(
          {
            apiVersion: "v1",
            kind: "Service",
            namespace: service.metadata!.namespace,
            name: service.metadata!.name!,
          },
          { preconditions: { uid: service.metadata!.uid! } },
        ),
      ),
    ]);
    const set = buildInstanceSet({
      component,
      compDef,
      release: resolved.release,
      cluster,
      shortName,
      plainVars: vars.plain,
      secretEnv: vars.secretEnv,
      configTemplates,
      restartingConfigs,
      dataProtection: await instanceDataProtection(
        client,
        this.repos,
        component,
        compDef,
        !this.completedActions(component).has(PROVISIONED),
      ),
    });
    return applyUnlessCurrent(client, this.sets, set);
  }

  /** Services the component owns and no longer wants: one an Expose operation removed from its spec. */
  private unwantedServices(component: Component, wanted: V1Service[]): V1Service[] {
    const names = new Set(wanted.map((s) => s.metadata!.name!));
    return this.services
      .list(component.metadata.namespace)
      .filter(
        (s) =>
          !names.has(s.metadata!.name!) &&
          !s.metadata?.deletionTimestamp &&
          s.metadata?.ownerReferences?.some((o) => o.uid === component.metadata.uid),
      );
  }

  private phaseOf(
    component: Component,
    compDef: ComponentDefinition,
    set: InstanceSet | undefined,
    setGeneration: number | undefined,
  ): { phase: ClusterPhase; message: string } {
    const status = set?.status;
    const desired = status?.replicas ?? component.spec.replicas;
    const ready = status?.readyReplicas ?? 0;
    const updated = status?.updatedReplicas ?? 0;
    const podsLeft = this.podsOf(component).length;
    if (component.spec.stop) {
      return podsLeft === 0
        ? { phase: "Stopped", message: "all instances stopped; volumes kept" }
        : { phase: "Stopping", message: `stopping ${podsLeft} instance(s)` };
    }
    const roles = compDef.spec.roles ?? [];
    const needsWritable = roles.some((r) => r.writable) && desired > 0;
    const hasWritable = (status?.instances ?? []).some((i) => i.ready && isWritable(i.role, roles));
    // The cache may not have the InstanceSet just written yet: compare with the generation that write produced.
    const observed =
      set !== undefined && status?.observedGeneration === (setGeneration ?? set.metadata.generation);
    // The set is Ready once every wanted instance is ready and updated and no removed one is left.
    const setReady = getCondition(status?.conditions, "Ready");
    const setSettled = observed && setReady?.status === "True";
    const settled = setSettled && (!needsWritable || hasWritable);
    const readyMessage = setReady?.message ?? "";
    if (settled) return { phase: "Running", message: `${ready}/${desired} instances ready` };
    const provisioned = this.completedActions(component).has(PROVISIONED);
    if (!provisioned)
      return { phase: "Creating", message: readyMessage || `${ready}/${desired} instances ready` };
    if (ready === 0) {
      const problems = summariseNotReady(status?.instances ?? []);
      return { phase: "Failed", message: `no instance is ready${problems ? `; ${problems}` : ""}` };
    }
    if (!setSettled) {
      // Every instance updated yet one not ready is abnormal; otherwise the set is still changing.
      const phase: ClusterPhase =
        observed && updated === desired && ready < desired ? "Abnormal" : "Updating";
      return { phase, message: readyMessage || `${ready}/${desired} ready, ${updated} updated` };
    }
    return {
      phase: "Abnormal",
      message: needsWritable && !hasWritable ? "no instance holds the writable role" : readyMessage,
    };
  }

  private podsOf(component: Component): V1Pod[] {
    return this.pods
      .list(component.metadata.namespace)
      .filter((p) => p.metadata?.labels?.[labels.component] === component.metadata.name);
  }

  private async syncStatus(
    component: Component,
    resolved: Resolved,
    setGeneration: number | undefined,
  ): Promise<ReconcileResult | void> {
    const set = this.sets.get(objectKey(component));
    const { phase, message } = this.phaseOf(component, resolved.compDef, set, setGeneration);
    const completed = this.completedActions(component);
    let actionError: ActionFailure | undefined;
    if (phase === "Running") {
      completed.add(PROVISIONED);
      actionError = await this.runOnceActions(component, resolved, completed);
    } else if (phase === "Creating") {
      // Accounts need only their target instance: provisioned while the others start, they cost no time.
      const scope = this.actionScope(component, resolved);
      if (this.accountTargetSettled(resolved.compDef.spec.lifecycleActions?.accountProvision, scope))
        actionError = await this.provisionAccounts(component, resolved, completed, scope);
    }
    await updateStatus<Component>(this.ctx.client, ref(component), (c) => {
      let conditions = setCondition(
        c.status?.conditions,
        {
          type: "DefinitionsResolved",
          status: true,
          reason: "Resolved",
          message: `${resolved.compDef.metadata.name} ${resolved.release.serviceVersion}`,
        },
        component.metadata.generation,
      );
      conditions = setCondition(conditions, {
        type: "VarsResolved",
        status: true,
        reason: "Resolved",
        message: "all vars resolved",
      });
      // Said only once it failed: most components neither restore nor archive.
      if (getCondition(conditions, "DataProtectionResolved")) {
        conditions = setCondition(conditions, {
          type: "DataProtectionResolved",
          status: true,
          reason: "Resolved",
          message: "what the restore and the log archive use is there",
        });
      }
      conditions = setCondition(conditions, {
        type: "Ready",
        status: phase === "Running",
        reason: phase,
        message,
      });
      if (actionError) {
        // Of this generation: an operation tells a failure of its own change from an older one.
        conditions = setCondition(
          conditions,
          { type: actionError.type, status: false, reason: "ActionFailed", message: actionError.message },
          component.metadata.generation,
        );
      }
      c.status = {
        ...c.status,
        phase,
        message,
        // The generation this status was computed from: the object re-read for the write may be newer.
        observedGeneration: component.metadata.generation,
        serviceVersion: resolved.release.serviceVersion,
        // What `kubectl scale` and autoscalers read through the scale subresource.
        ...(set?.status?.replicas !== undefined ? { replicas: set.status.replicas } : {}),
        selector: labelSelector(componentLabels(resolved.cluster, component.metadata.name!)),
        completedActions: [...completed].sort(),
        ...(component.status?.appliedParameters
          ? { appliedParameters: component.status.appliedParameters }
          : {}),
        ...(component.status?.unconfirmedParameters?.length
          ? { unconfirmedParameters: component.status.unconfirmedParameters }
          : {}),
        conditions,
      };
      if (!component.status?.unconfirmedParameters?.length) delete c.status.unconfirmedParameters;
    });
    this.completedWritten.set(objectKey(component), { uid: component.metadata.uid!, markers: completed });
    if (actionError) return { requeueAfterMs: 5000 };
    return phase === "Running" || phase === "Stopped" ? undefined : { requeueAfterMs: 2000 };
  }

  /** The run-once markers recorded in status, with those this process wrote that the cache may lack. */
  private completedActions(component: Component): Set<string> {
    const completed = new Set(component.status?.completedActions ?? []);
    const written = this.completedWritten.get(objectKey(component));
    if (written && written.uid === component.metadata.uid) {
      for (const marker of written.markers) completed.add(marker);
    }
    return completed;
  }

  /** postProvision, accountProvision and reconfigure: each runs once per change, results recorded in status. */
  private async runOnceActions(
    component: Component,
    resolved: Resolved,
    completed: Set<string>,
  ): Promise<ActionFailure | undefined> {
    const postProvision = resolved.compDef.spec.lifecycleActions?.postProvision;
    const scope = this.actionScope(component, resolved);
    if (postProvision && !completed.has("postProvision")) {
      const failed = await this.recordAction(component, "postProvision", "PostProvisioned", () =>
        this.ctx.actions.run("postProvision", postProvision, { ...scope, env: scope.component.base }),
      );
      if (failed) return failed;
      completed.add("postProvision");
    }
    return (
      (await this.provisionAccounts(component, resolved, completed, scope)) ??
      this.reconfigure(component, resolved, scope)
    );
  }

  /** Where the component's actions run: its pods, with the InstanceSet's action environment. */
  private actionScope(component: Component, resolved: Resolved): ActionScope {
    return {
      namespace: component.metadata.namespace!,
      pods: this.podsOf(component),
      roles: resolved.compDef.spec.roles,
      component: this.componentEnv(component),
    };
  }

  private componentEnv(component: Component): ComponentEnv {
    return componentEnv(
      component.metadata.namespace!,
      names.headlessService(names.instanceSet(component.metadata.name!)),
      this.sets.get(objectKey(component)),
    );
  }

  /** Runs an action and records its outcome as an event; a failure is returned for the status. */
  private async recordAction(
    component: Component,
    name: string,
    type: string,
    run: () => Promise<unknown>,
  ): Promise<ActionFailure | undefined> {
    try {
      await run();
      await this.ctx.recorder.record(component, "Normal", `${name}Succeeded`, `action ${name} succeeded`);
      return undefined;
    } catch (error) {
      await this.ctx.recorder.record(component, "Warning", `${name}Failed`, errorMessage(error));
      return { type, message: errorMessage(error) };
    }
  }

  /** accountProvision for each system account not created at initialisation and not provisioned yet. */
  private async provisionAccounts(
    component: Component,
    resolved: Resolved,
    completed: Set<string>,
    scope: ActionScope,
  ): Promise<ActionFailure | undefined> {
    const action = resolved.compDef.spec.lifecycleActions?.accountProvision;
    if (!action) return undefined;
    for (const account of resolved.compDef.spec.systemAccounts ?? []) {
      const marker = `accountProvision:${account.name}`;
      if (account.initAccount || completed.has(marker)) continue;
      const secret = names.accountSecret(component.metadata.name!, account.name);
      const password = await readAccountPassword(this.ctx.client, component.metadata.namespace!, secret);
      const failed = await this.recordAction(component, "accountProvision", "AccountsProvisioned", () =>
        this.ctx.actions.run("accountProvision", action, {
          ...scope,
          env: accountEnv(scope.component, { name: account.name, password, statement: account.statement }),
        }),
      );
      if (failed) return failed;
      completed.add(marker);
    }
    return undefined;
  }

  /**
   * Whether accountProvision can run before the component is Running: it targets one instance (not
   * `All`), that instance is ready, and, when the selector is `Any` and the definition has a writable
   * role, it is the writable instance, as it would be once every instance is labelled.
   */
  private accountTargetSettled(action: Action | undefined, options: ActionScope): boolean {
    if (!action || action.targetPodSelector === "All") return false;
    const targets = selectTargets(action, options);
    if (targets.length === 0) return false;
    const roles = options.roles ?? [];
    if ((action.targetPodSelector ?? "Any") !== "Any" || !roles.some((r) => r.writable)) return true;
    return targets.every((pod) => isWritable(pod.metadata?.labels?.[labels.role], roles));
  }

  /**
   * Dynamic parameter changes are applied in place by the reconfigure action,
   * on every instance. It may fail after some instances took the new values:
   * those parameters stay unconfirmed and are applied again with whatever
   * value is wanted next, so putting the previous value back reaches them too.
   */
  private async reconfigure(
    component: Component,
    resolved: Resolved,
    scope: ActionScope,
  ): Promise<ActionFailure | undefined> {
    const action = resolved.compDef.spec.lifecycleActions?.reconfigure;
    const wanted = splitParameters(resolved.compDef, component.spec.parameters).dynamic;
    const applied = component.status?.appliedParameters;
    const unconfirmed = component.status?.unconfirmedParameters ?? [];
    if (!applied) {
      // Parameters present at creation were rendered into the config files from the start.
      this.recordApplied(component, wanted, []);
      return undefined;
    }
    const changed: Record<string, string> = {};
    for (const key of new Set([...Object.keys(wanted), ...Object.keys(applied), ...unconfirmed])) {
      if (wanted[key] !== applied[key] || unconfirmed.includes(key)) changed[key] = wanted[key] ?? "";
    }
    if (Object.keys(changed).length === 0 || !action) return undefined;
    // Every instance is tried even when one refuses: which ones took the values does not depend on their order.
    const every = { ...action, targetPodSelector: "All" as const };
    const env = reconfigureEnv(scope.component, changed);
    const targets = selectTargets(every, scope).map((p) => p.metadata!.name!);
    const failures: string[] = [];
    for (const pod of targets.length ? targets : [undefined]) {
      try {
        await this.ctx.actions.run("reconfigure", every, { ...scope, env, ...(pod ? { pod } : {}) });
      } catch (error) {
        failures.push(errorMessage(error));
      }
    }
    if (failures.length) {
      const message = failures.join("; ");
      await this.ctx.recorder.record(component, "Warning", "ReconfigureFailed", message);
      this.recordApplied(component, applied, [...new Set([...unconfirmed, ...Object.keys(changed)])].sort());
      return { type: "Reconfigured", message };
    }
    await this.ctx.recorder.record(
      component,
      "Normal",
      "Reconfigured",
      `applied ${Object.keys(changed).join(", ")} without restart`,
    );
    this.recordApplied(component, wanted, []);
    return undefined;
  }

  /** Noted in the in-memory status, which the reconcile's status write stores. */
  private recordApplied(
    component: Component,
    parameters: Record<string, string>,
    unconfirmed: string[],
  ): void {
    component.status = {
      ...component.status,
      appliedParameters: parameters,
      unconfirmedParameters: unconfirmed,
    };
  }

  private async fail(
    component: Component,
    type: string,
    reason: string,
    message: string,
    phase: ClusterPhase,
  ) {
    await this.ctx.recorder.record(component, "Warning", reason, message);
    await updateStatus<Component>(this.ctx.client, ref(component), (c) => {
      c.status = {
        ...c.status,
        phase,
        message,
        observedGeneration: component.metadata.generation,
        conditions: setCondition(
          c.status?.conditions,
          { type, status: false, reason, message },
          component.metadata.generation,
        ),
      };
    });
  }

  /**
   * Deletion of a component whose definition has a preTerminate action: the
   * action runs in its pods, then the component is let go and the garbage
   * collector removes its InstanceSet and pods. Volumes are not a component's
   * to delete: they go with their cluster, as its policy says.
   */
  private async finalize(component: Component): Promise<ReconcileResult | void> {
    if (!hasFinalizer(component, finalizers.component)) return;
    const pods = this.podsOf(component);
    const compDef = this.tryCompDef(component.spec.compDef);
    const preTerminate = compDef?.spec.lifecycleActions?.preTerminate;
    const completed = component.status?.completedActions ?? [];
    if (preTerminate && pods.length > 0 && !completed.includes("preTerminate")) {
      try {
        await this.ctx.actions.run("preTerminate", preTerminate, {
          namespace: component.metadata.namespace!,
          pods,
          roles: compDef?.spec.roles,
          env: this.componentEnv(component).base,
        });
      } catch (error) {
        await this.ctx.recorder.record(component, "Warning", "PreTerminateFailed", errorMessage(error));
      }
      await updateStatus<Component>(this.ctx.client, ref(component), (c) => {
        c.status = { ...c.status, completedActions: [...(c.status?.completedActions ?? []), "preTerminate"] };
      });
    }
    await removeFinalizer(this.ctx.client, ref(component), finalizers.component);
  }
}

class MissingTemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MissingTemplateError";
  }
}

function ref(component: Component) {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    namespace: component.metadata.namespace,
    name: component.metadata.name!,
  };
}
