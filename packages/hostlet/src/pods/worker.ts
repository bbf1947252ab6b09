import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import type { V1Container, V1Pod, V1PodStatus, V1Service } from "@kubernetes/client-node";
import { errorMessage, type EventRecorder, type KubeClient, type Logger } from "@tessera/kube";
import type { ImageCatalog } from "../images/catalog.js";
import type { Ipam } from "../network/ipam.js";
import { renderHosts } from "../network/hosts.js";
import { bwrapArgs, type Mount } from "../runtime/bwrap.js";
import type { CgroupLayout, ContainerCgroup, PodCgroup } from "../runtime/cgroups.js";
import { renderGroup, renderPasswd } from "../runtime/identity.js";
import { SandboxProcess, type ExitStatus } from "../runtime/sandbox-process.js";
import type { SandboxExecOptions } from "../runtime/exec.js";
import { PodVolumes, VolumeError } from "../volumes/pod-volumes.js";
import type { ObjectSource } from "../volumes/object-source.js";
import { fromApiTerminated, now, type ContainerState, type Terminated } from "./container-state.js";
import { computePodStatus } from "./pod-status.js";
import { ContainerLogs } from "./container-logs.js";
import {
  containerCommand,
  containerEnvironment,
  containerLimits,
  podFileMounts,
} from "./container-launch.js";
import { containerUser, type ContainerUser } from "./container-user.js";
import { EnvResolutionError, resolveEnvironment } from "./env.js";
import { ProbeLoop, type ProbeKind } from "./probes.js";
import { RestartBackoff, type RestartBackoffOptions } from "./restart-backoff.js";
import { runInContainer } from "./run-in-container.js";

export interface WorkerContext {
  nodeName: string;
  hostIP: string;
  stateDir: string;
  clusterDomain: string;
  client: KubeClient;
  logger: Logger;
  events: EventRecorder;
  catalog: ImageCatalog;
  cgroups?: CgroupLayout;
  ipam: Ipam;
  objects: ObjectSource;
  nodeAllocatable: { cpu: number; memory: number };
  backoff: RestartBackoffOptions;
  services(): V1Service[];
  pods(): V1Pod[];
  /** Called when the worker's pod got (or lost) its IP, so routes and hosts files follow. */
  networkChanged(): void;
  /** Called once the pod is gone from this node and its resources are released. */
  finished(uid: string): void;
}

interface ContainerRecord {
  spec: V1Container;
  init: boolean;
  restartCount: number;
  state: ContainerState;
  lastTerminated?: Terminated;
  process?: SandboxProcess;
  cgroup?: ContainerCgroup;
  oomKillsAtStart: number;
  env: Record<string, string>;
  user?: ContainerUser;
  started: boolean;
  ready: boolean;
  probes: ProbeLoop[];
  backoff: RestartBackoff;
  restartAt: number;
  /** Set when the hostlet killed the container (liveness failure, fault injection): restart regardless of exit code. */
  killedForRestart?: string;
  /** Set when the container was stopped for a new definition: restart at once, whatever the policy. */
  replaced?: boolean;
  imageID: string;
}

/**
 * Runs one pod: volumes, init containers in order, then the containers
 * with their probes and restart policy, and finally graceful termination.
 * Level-triggered: every change (pod update, container exit, probe result,
 * timer) schedules `sync`, which compares what runs with what should, acts,
 * and publishes the pod status.
 */
export class PodWorker {
  private readonly records = new Map<string, ContainerRecord>();
  private readonly podDir: string;
  private readonly logs: ContainerLogs;
  private readonly volumes: PodVolumes;
  private readonly cgroup?: PodCgroup;
  private podIP?: string;
  private prepared = false;
  private syncing = false;
  private dirty = false;
  private timer?: NodeJS.Timeout;
  private timerAt = 0;
  private lastStatus?: unknown;
  private terminating?: Promise<void>;
  private removed = false;
  private stopped = false;
  private frozen = false;
  private readonly startTime: string;
  private prepareError?: string;
  private readonly log: Logger;
  private hostsContent = "";

  constructor(
    private pod: V1Pod,
    private readonly ctx: WorkerContext,
  ) {
    const uid = pod.metadata!.uid!;
    this.podDir = join(ctx.stateDir, "pods", uid);
    this.logs = new ContainerLogs(this.podDir);
    this.log = ctx.logger.child({ pod: `${pod.metadata!.namespace}/${pod.metadata!.name}` });
    this.cgroup = ctx.cgroups?.pod(uid);
    this.startTime = (pod.status?.startTime as unknown as string | undefined) ?? now();
    this.volumes = new PodVolumes(
      () => this.pod,
      this.podDir,
      ctx.objects,
      () => ({ podIP: this.podIP ?? "", hostIP: ctx.hostIP, nodeAllocatable: ctx.nodeAllocatable }),
    );
    const previous = new Map(
      [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])].map((s) => [
        s.name,
        s,
      ]),
    );
    const add = (spec: V1Container, init: boolean) => {
      const before = previous.get(spec.name);
      const wasRunning = before?.state?.running !== undefined;
      const record: ContainerRecord = {
        spec,
        init,
        restartCount: before?.restartCount ?? 0,
        state: { kind: "waiting", reason: init ? "PodInitializing" : "ContainerCreating" },
        lastTerminated: fromApiTerminated(before?.lastState),
        oomKillsAtStart: 0,
        env: {},
        started: false,
        ready: false,
        probes: [],
        backoff: new RestartBackoff(ctx.backoff),
        restartAt: 0,
        imageID: "",
      };
      if (wasRunning) {
        // The container died with the previous hostlet process: report it like a crash.
        record.state = {
          kind: "terminated",
          exitCode: 137,
          reason: "Error",
          message: "the node agent restarted",
          startedAt: String(before!.state!.running!.startedAt ?? ""),
          finishedAt: now(),
        };
      } else if (before?.state?.terminated && !init) {
        record.state = fromApiTerminated(before.state)!;
      }
      this.records.set(spec.name, record);
    };
    for (const spec of pod.spec?.initContainers ?? []) add(spec, true);
    for (const spec of pod.spec?.containers ?? []) add(spec, false);
  }

  get uid(): string {
    return this.pod.metadata!.uid!;
  }

  get ip(): string | undefined {
    return this.podIP;
  }

  get cgroupPath(): string | undefined {
    return this.cgroup?.v2Path;
  }

  get current(): V1Pod {
    return this.pod;
  }

  update(pod: V1Pod): void {
    const labelsChanged =
      !isDeepStrictEqual(pod.metadata?.labels, this.pod.metadata?.labels) ||
      !isDeepStrictEqual(pod.metadata?.annotations, this.pod.metadata?.annotations);
    this.pod = pod;
    this.applySpecChanges(pod);
    if (labelsChanged && this.prepared) {
      this.volumes
        .refresh()
        .catch((error) => this.log.warn({ err: errorMessage(error) }, "volume refresh failed"));
    }
    this.kick();
  }

  /**
   * A container whose definition changed (the API allows a new image in
   * place) is stopped and started again with it, whatever the restart
   * policy, like the kubelet does.
   */
  private applySpecChanges(pod: V1Pod): void {
    for (const spec of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]) {
      const record = this.records.get(spec.name);
      if (!record || isDeepStrictEqual(record.spec, spec)) continue;
      record.spec = spec;
      if (record.init || !record.process?.running) continue;
      record.replaced = true;
      void this.ctx.events.record(
        pod,
        "Normal",
        "Killing",
        `Container ${spec.name} definition changed, will be restarted`,
      );
      void this.stopContainer(record, this.graceMs());
    }
  }

  /** The pod object is gone from the API (deleted with grace 0 or force-deleted). */
  remove(): void {
    this.removed = true;
    this.kick();
  }

  /** Kills every container without touching the pod's API status (hostlet shutdown). */
  async shutdown(graceMs: number): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.stopContainers(graceMs);
  }

  /** Schedules a sync now, or after `delayMs` (the earliest of several pending delays wins). */
  kick(delayMs = 0): void {
    if (this.stopped) return;
    if (delayMs > 0) {
      const at = Date.now() + delayMs;
      if (this.timer && this.timerAt <= at) return;
      clearTimeout(this.timer);
      this.timerAt = at;
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.kick();
      }, delayMs);
      return;
    }
    this.dirty = true;
    if (this.syncing) return;
    this.syncing = true;
    void (async () => {
      while (this.dirty && !this.stopped) {
        this.dirty = false;
        try {
          await this.sync();
        } catch (error) {
          this.log.warn({ err: errorMessage(error) }, "pod sync failed");
          this.kick(1000);
        }
      }
      this.syncing = false;
    })();
  }

  private async sync(): Promise<void> {
    if (this.removed || this.pod.metadata?.deletionTimestamp) {
      this.terminating ??= this.terminate();
      return;
    }
    const phase = this.pod.status?.phase;
    if ((phase === "Succeeded" || phase === "Failed") && !this.anyRunning()) return;
    if (!this.prepared) {
      try {
        await this.prepare();
        this.prepared = true;
        this.prepareError = undefined;
      } catch (error) {
        const message = errorMessage(error);
        if (this.prepareError !== message) {
          await this.ctx.events.record(this.pod, "Warning", "FailedMount", message);
        }
        this.prepareError = message;
        await this.publish();
        this.kick(2000);
        return;
      }
    }
    await this.refreshVolumesPeriodically();
    const policy = this.pod.spec?.restartPolicy ?? "Always";
    const inits = [...this.records.values()].filter((r) => r.init);
    for (const record of inits) {
      if (record.state.kind === "terminated" && record.state.exitCode === 0) continue;
      if (record.state.kind === "running") return this.publish();
      if (record.state.kind === "terminated" && policy === "Never") return this.publish();
      await this.startIfDue(record);
      return this.publish();
    }
    for (const record of this.records.values()) {
      if (record.init || record.state.kind === "running") continue;
      if (record.state.kind === "terminated") {
        const exitCode = record.state.exitCode;
        const restart = record.replaced
          ? true
          : record.killedForRestart !== undefined
            ? policy !== "Never"
            : policy === "Always" || (policy === "OnFailure" && exitCode !== 0);
        if (!restart) continue;
      }
      await this.startIfDue(record);
    }
    await this.publish();
  }

  private nextVolumeRefresh = 0;

  /** ConfigMaps and Secrets change without the pod changing: re-read them every few seconds. */
  private async refreshVolumesPeriodically(): Promise<void> {
    if (Date.now() < this.nextVolumeRefresh) return;
    this.nextVolumeRefresh = Date.now() + 5000;
    await this.volumes
      .refresh()
      .catch((error) => this.log.debug({ err: errorMessage(error) }, "volume refresh failed"));
    this.kick(5000);
  }

  private anyRunning(): boolean {
    return [...this.records.values()].some((r) => r.process?.running);
  }

  private async prepare(): Promise<void> {
    const pod = this.pod;
    mkdirSync(join(this.podDir, "etc"), { recursive: true });
    this.podIP = pod.spec?.hostNetwork ? this.ctx.hostIP : this.ctx.ipam.allocate(this.uid);
    // Before the network hears of the pod: NetworkPolicy rules name its cgroup.
    this.cgroup?.create();
    this.ctx.networkChanged();
    const users = [...this.records.values()].map((r) => containerUser(this.pod, r.spec));
    const uids = users.filter(Boolean).map((u) => u!);
    const hostPasswd = readFileSync("/etc/passwd", "utf8");
    const passwd = uids.reduce((text, u) => renderPasswd(text, u.uid, u.gid), hostPasswd);
    writeFileSync(join(this.podDir, "etc", "passwd"), passwd);
    writeFileSync(
      join(this.podDir, "etc", "group"),
      renderGroup(
        readFileSync("/etc/group", "utf8"),
        uids.flatMap((u) => [u.gid, ...u.groups]),
      ),
    );
    writeFileSync(join(this.podDir, "etc", "hostname"), `${this.hostname}\n`);
    this.refreshHosts();
    await this.volumes.prepare();
  }

  private get hostname(): string {
    return this.pod.spec?.hostname || this.pod.metadata!.name!;
  }

  /** Rewrites /etc/hosts in place (it is bind-mounted, so a rename would not be seen). */
  refreshHosts(): void {
    if (!this.podIP || this.stopped) return;
    const content = renderHosts({
      pod: this.pod,
      podIP: this.podIP,
      clusterDomain: this.ctx.clusterDomain,
      services: this.ctx.services(),
      pods: this.ctx.pods(),
    });
    if (content === this.hostsContent) return;
    const file = join(this.podDir, "etc", "hosts");
    if (!existsSync(join(this.podDir, "etc"))) return;
    writeFileSync(file, content);
    this.hostsContent = content;
  }

  private async startIfDue(record: ContainerRecord): Promise<void> {
    const wait = record.restartAt - Date.now();
    if (wait > 0) {
      if (record.state.kind === "terminated") {
        record.lastTerminated = record.state;
        record.state = {
          kind: "waiting",
          reason: "CrashLoopBackOff",
          message: `back-off ${Math.round(wait / 1000)}s restarting failed container=${record.spec.name} pod=${this.pod.metadata!.name}`,
        };
      }
      this.kick(wait);
      return;
    }
    await this.start(record);
  }

  private async start(record: ContainerRecord): Promise<void> {
    const spec = record.spec;
    const image = this.ctx.catalog.resolve(spec.image);
    if (!image.ok) {
      if (record.state.kind !== "waiting" || record.state.reason !== image.reason) {
        await this.ctx.events.record(
          this.pod,
          "Warning",
          "Failed",
          `Failed to pull image "${spec.image}": ${image.message}`,
        );
      }
      record.state = { kind: "waiting", reason: image.reason, message: image.message };
      this.kick(10_000);
      return;
    }
    let env: Record<string, string>;
    let mounts: Mount[];
    try {
      const resolved = await resolveEnvironment(this.pod, spec, {
        podIP: this.podIP!,
        hostIP: this.ctx.hostIP,
        nodeAllocatable: this.ctx.nodeAllocatable,
        getConfigMap: this.ctx.objects.getConfigMap,
        getSecret: this.ctx.objects.getSecret,
        services: this.ctx.services(),
      });
      env = containerEnvironment(image.entry, this.hostname, this.ctx.services(), resolved);
      mounts = this.volumes.mountsFor(spec, env);
    } catch (error) {
      if (!(error instanceof EnvResolutionError) && !(error instanceof VolumeError)) throw error;
      record.state = { kind: "waiting", reason: "CreateContainerConfigError", message: error.message };
      await this.ctx.events.record(this.pod, "Warning", "Failed", `Error: ${error.message}`);
      this.kick(5000);
      return;
    }
    const command = containerCommand(spec, image.entry, env);
    if (command.length === 0) {
      record.state = {
        kind: "waiting",
        reason: "CreateContainerConfigError",
        message: `image ${spec.image} has no default command: set command`,
      };
      return;
    }
    const terminationFile = join(this.podDir, "termination", spec.name);
    mkdirSync(join(this.podDir, "termination"), { recursive: true });
    // As a kubelet does, the file is writable whatever user the container runs as.
    writeFileSync(terminationFile, "", { mode: 0o666 });
    chmodSync(terminationFile, 0o666);
    const user = containerUser(this.pod, spec);
    const sandboxMounts = [
      ...(image.entry.bind ?? []).map((dir) => ({ source: dir, target: dir, readOnly: true })),
      ...mounts,
      ...podFileMounts(this.podDir, spec, terminationFile),
    ];
    const args = bwrapArgs({
      hostname: this.hostname,
      mounts: sandboxMounts,
      workingDir: spec.workingDir,
      user,
      command,
    });
    const cgroup = this.cgroup?.container(spec.name);
    const cgroupProcs = (await cgroup?.create(containerLimits(spec))) ?? [];
    const restarting =
      record.state.kind === "terminated" ||
      (record.state.kind === "waiting" && record.state.reason === "CrashLoopBackOff");
    if (record.state.kind === "terminated") record.lastTerminated = record.state;
    if (restarting) record.restartCount += 1;
    // Setting up took awaits: the hostlet may have begun to shut down meanwhile.
    if (this.stopped) return;
    const logFile = this.logs.forRun(spec.name, record.restartCount);
    const process = SandboxProcess.start({ bwrapArgs: args, env, cgroupProcs, logFile });
    record.process = process;
    record.cgroup = cgroup;
    record.oomKillsAtStart = cgroup?.oomKills() ?? 0;
    record.env = env;
    record.user = user;
    record.killedForRestart = undefined;
    record.replaced = false;
    record.imageID = `hostlet://${image.entry.package}`;
    const startedAt = now();
    record.state = { kind: "running", startedAt };
    record.started = !spec.startupProbe;
    record.ready = false;
    this.log.info({ container: spec.name, restartCount: record.restartCount }, "container started");
    await this.ctx.events.record(this.pod, "Normal", "Started", `Started container ${spec.name}`);
    const startedMs = Date.now();
    void process.ready.then(async (pid) => {
      if (!pid || record.process !== process) return;
      const postStart = spec.lifecycle?.postStart?.exec?.command;
      if (postStart && !(await this.runHook(record, "PostStart", postStart, this.graceMs()))) {
        record.killedForRestart = "postStart hook failed";
        process.kill();
        return;
      }
      if (!record.init) this.startProbes(record);
    });
    void process.exited.then((status) =>
      this.onExit(record, process, status, startedAt, startedMs, terminationFile),
    );
  }

  private onExit(
    record: ContainerRecord,
    process: SandboxProcess,
    status: ExitStatus,
    startedAt: string,
    startedMs: number,
    terminationFile: string,
  ): void {
    if (record.process !== process) return;
    for (const probe of record.probes) probe.stop();
    record.probes = [];
    record.ready = false;
    const oom = (record.cgroup?.oomKills() ?? 0) > record.oomKillsAtStart;
    const reason = oom ? "OOMKilled" : status.exitCode === 0 ? "Completed" : "Error";
    let message = existsSync(terminationFile) ? readFileSync(terminationFile, "utf8").slice(0, 4096) : "";
    if (
      !message &&
      status.exitCode !== 0 &&
      record.spec.terminationMessagePolicy === "FallbackToLogsOnError"
    ) {
      message = this.logs.tail(record.spec.name, record.restartCount, 80);
    }
    record.state = {
      kind: "terminated",
      exitCode: status.exitCode,
      reason,
      message: message || undefined,
      startedAt,
      finishedAt: now(),
    };
    // A new definition starts at once; a crash waits out the back-off.
    record.restartAt = record.replaced ? 0 : Date.now() + record.backoff.next(Date.now() - startedMs);
    this.log.info({ container: record.spec.name, exitCode: status.exitCode, reason }, "container exited");
    if (!this.stopped) this.kick();
  }

  private startProbes(record: ContainerRecord): void {
    const spec = record.spec;
    const target = {
      podIP: this.podIP!,
      container: spec,
      exec: (command: string[], timeoutMs: number) => {
        const options = this.execOptions(spec.name, command, false);
        if (!options) return Promise.resolve({ exitCode: 1, output: "container is not running" });
        return runInContainer(options, timeoutMs);
      },
    };
    const loop = (
      kind: ProbeKind,
      probe: NonNullable<V1Container["livenessProbe"]>,
      onResult: (ok: boolean, message: string) => void,
    ) => {
      const runner = new ProbeLoop(kind, probe, target, onResult);
      record.probes.push(runner);
      runner.start();
      return runner;
    };
    const startRest = () => {
      if (spec.livenessProbe) {
        loop("liveness", spec.livenessProbe, (ok, message) => {
          if (!ok) void this.restartUnhealthy(record, "Liveness", message);
        });
      }
      if (spec.readinessProbe) {
        loop("readiness", spec.readinessProbe, (ok, message) => {
          if (!ok)
            void this.ctx.events.record(
              this.pod,
              "Warning",
              "Unhealthy",
              `Readiness probe failed: ${message}`,
            );
          record.ready = ok;
          this.kick();
        });
      } else {
        record.ready = true;
        this.kick();
      }
    };
    if (spec.startupProbe) {
      const startup = loop("startup", spec.startupProbe, (ok, message) => {
        if (!ok) return void this.restartUnhealthy(record, "Startup", message);
        startup.stop();
        record.started = true;
        startRest();
        this.kick();
      });
    } else startRest();
  }

  private async restartUnhealthy(record: ContainerRecord, probe: string, message: string): Promise<void> {
    const process = record.process;
    if (!process?.running) return;
    await this.ctx.events.record(this.pod, "Warning", "Unhealthy", `${probe} probe failed: ${message}`);
    await this.ctx.events.record(
      this.pod,
      "Normal",
      "Killing",
      `Container ${record.spec.name} failed ${probe.toLowerCase()} probe, will be restarted`,
    );
    record.killedForRestart = `${probe} probe failed`;
    await this.stopContainer(record, this.graceMs());
  }

  /** Runs a lifecycle hook (exec handlers only); a failure is reported as an event. */
  private async runHook(
    record: ContainerRecord,
    hook: string,
    command: string[],
    timeoutMs: number,
  ): Promise<boolean> {
    const options = this.execOptions(record.spec.name, command, false);
    if (!options) return false;
    const result = await runInContainer(options, timeoutMs);
    if (result.exitCode === 0) return true;
    await this.ctx.events.record(
      this.pod,
      "Warning",
      `Failed${hook}Hook`,
      `${hook} hook of container ${record.spec.name} failed (exit code ${result.exitCode}): ${result.output.trim().slice(-256)}`,
    );
    return false;
  }

  private graceMs(): number {
    const seconds =
      this.pod.metadata?.deletionGracePeriodSeconds ?? this.pod.spec?.terminationGracePeriodSeconds ?? 30;
    return seconds * 1000;
  }

  /** SIGTERM to the process group, SIGKILL to the sandbox after the grace period. */
  private async stopContainer(record: ContainerRecord, graceMs: number): Promise<void> {
    const process = record.process;
    if (!process?.running) return;
    for (const probe of record.probes) probe.stop();
    if (this.frozen) this.setFrozen(false);
    const timer = setTimeout(() => process.kill(), graceMs);
    const preStop = record.spec.lifecycle?.preStop?.exec?.command;
    if (preStop && graceMs > 0) await this.runHook(record, "PreStop", preStop, graceMs);
    process.signalGroup("SIGTERM");
    await process.exited;
    clearTimeout(timer);
  }

  private async stopContainers(graceMs: number): Promise<void> {
    await Promise.all([...this.records.values()].map((r) => this.stopContainer(r, graceMs)));
  }

  private async terminate(): Promise<void> {
    await this.stopContainers(this.removed ? 0 : this.graceMs());
    for (const record of this.records.values()) {
      if (record.state.kind !== "terminated") {
        record.state = { kind: "terminated", exitCode: 0, reason: "Completed", finishedAt: now() };
      }
    }
    if (!this.removed) {
      await this.publish().catch(() => undefined);
      await this.ctx.client
        .delete(
          {
            apiVersion: "v1",
            kind: "Pod",
            namespace: this.pod.metadata!.namespace!,
            name: this.pod.metadata!.name!,
          },
          { gracePeriodSeconds: 0, preconditions: { uid: this.uid } },
        )
        .catch((error) => this.log.warn({ err: errorMessage(error) }, "could not finalize pod deletion"));
    }
    this.release();
  }

  private release(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.volumes.cleanup();
    void this.cgroup?.remove();
    this.ctx.ipam.release(this.uid);
    rmSync(this.podDir, { recursive: true, force: true });
    this.ctx.networkChanged();
    this.ctx.finished(this.uid);
  }

  /** Kills a container's processes at once, like `kill -9` of its main process. */
  killContainer(name: string): boolean {
    const record = this.records.get(name);
    if (!record?.process?.running) return false;
    record.process.kill();
    return true;
  }

  /** Freezes or thaws the pod's processes (cgroup freezer, or SIGSTOP/SIGCONT without one). */
  setFrozen(frozen: boolean): void {
    if (!this.cgroup?.setFrozen(frozen)) {
      for (const record of this.records.values()) record.process?.signalGroup(frozen ? "SIGSTOP" : "SIGCONT");
    }
    this.frozen = frozen;
  }

  /** What kubectl exec and exec probes need to run a command in a container; undefined if it is not running. */
  execOptions(container: string, command: string[], tty: boolean): SandboxExecOptions | undefined {
    const record = this.records.get(container);
    const pid = record?.process?.pid;
    if (!record || !pid || !record.process?.running) return undefined;
    return {
      sandboxPid: pid,
      command,
      env: record.env,
      user: record.user,
      workingDir: record.spec.workingDir,
      tty,
      cgroupProcs: record.cgroup?.procsFiles() ?? [],
    };
  }

  containerNames(): string[] {
    return [...this.records.keys()];
  }

  defaultContainer(): string | undefined {
    return this.pod.spec?.containers[0]?.name;
  }

  /** The current and previous log files of a container. */
  logFiles(container: string): { current?: string; previous?: string } {
    const record = this.records.get(container);
    return record ? this.logs.files(container, record.restartCount) : {};
  }

  isRunning(container: string): boolean {
    return this.records.get(container)?.process?.running ?? false;
  }

  private async publish(): Promise<void> {
    if (this.removed) return;
    const status = this.computeStatus();
    if (isDeepStrictEqual(status, this.lastStatus)) return;
    try {
      await this.ctx.client.patch(
        {
          apiVersion: "v1",
          kind: "Pod",
          namespace: this.pod.metadata!.namespace!,
          name: this.pod.metadata!.name!,
        },
        { status },
        "merge",
        "status",
      );
      this.lastStatus = status;
    } catch (error) {
      this.log.warn({ err: errorMessage(error) }, "could not update pod status");
      this.kick(1000);
    }
  }

  private computeStatus(): V1PodStatus {
    return computePodStatus({
      pod: this.pod,
      hostIP: this.ctx.hostIP,
      podIP: this.podIP,
      startTime: this.startTime,
      prepareError: this.prepareError,
      containers: [...this.records.values()].map((r) => ({
        name: r.spec.name,
        image: r.spec.image ?? "",
        imageID: r.imageID,
        init: r.init,
        state: r.state,
        lastTerminated: r.lastTerminated,
        restartCount: r.restartCount,
        started: r.started,
        ready: r.ready,
        containerID: r.process ? `hostlet://${this.uid}/${r.spec.name}/${r.restartCount}` : undefined,
      })),
    });
  }
}
