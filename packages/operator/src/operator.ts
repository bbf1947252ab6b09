import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import {
  API_VERSION,
  OPERATOR_LEASE,
  type ClusterDefinition,
  type ComponentDefinition,
  type ComponentVersion,
} from "@tessera/api";
import {
  EventRecorder,
  InformerFactory,
  KubeClient,
  LeaderElector,
  loadKubeConfig,
  metricsRegistry,
  type Controller,
  type Logger,
} from "@tessera/kube";
import { ActionRunner } from "./actions/runner.js";
import { BackupController } from "./backup/backup-controller.js";
import { ClusterBackupController } from "./backup/cluster-backup-controller.js";
import { BackupRepoController } from "./backup/repo-controller.js";
import { BackupScheduleController } from "./backup/schedule-controller.js";
import { ClusterController } from "./cluster/controller.js";
import { ComponentController } from "./component/controller.js";
import type { OperatorContext } from "./context.js";
import { DefinitionCatalog } from "./definitions.js";
import { HaController } from "./ha/controller.js";
import { InstanceSetController } from "./instanceset/controller.js";
import { TenantController } from "./tenant/controller.js";
import { OpsController } from "./ops/controller.js";
import type { CertificateLifetimes } from "./webhook/certificates.js";
import { ClusterPlacement } from "./webhook/placement.js";
import { AdmissionWebhook } from "./webhook/server.js";

export interface OperatorOptions {
  kubeconfig?: string;
  context?: string;
  /** Namespace of the operator: its Lease and webhook certificate live there. */
  namespace: string;
  /** Lease-based leader election (lease duration defaults to 15 s), or false for a single replica. */
  leaderElection: { leaseDurationMs?: number } | false;
  identity?: string;
  /** Address of /metrics, /healthz and /readyz; port 0 picks a free port. */
  metrics: { host: string; port: number };
  /** Where the apiserver reaches the admission webhook; omit to run without it. */
  webhook?: {
    endpoint: { host: string } | { service: string };
    port: number;
    certificates?: Partial<CertificateLifetimes>;
  };
  logger: Logger;
}

/**
 * The operator process: shared informers, the controllers, the HA loop,
 * the admission webhook and the metrics/health endpoint. Controllers run
 * only while this process holds the leader Lease; informers and the
 * webhook run on every replica.
 */
export class Operator {
  private readonly client: KubeClient;
  private readonly informers: InformerFactory;
  private readonly controllers: Controller[];
  private readonly elector?: LeaderElector;
  private readonly webhook?: AdmissionWebhook;
  private httpServer?: Server;
  private leading?: Promise<void>;
  private leader = false;
  private serving = false;

  private constructor(private readonly options: OperatorOptions) {
    const logger = options.logger;
    this.client = new KubeClient(loadKubeConfig(options.kubeconfig, options.context));
    this.informers = new InformerFactory(this.client, logger, { resyncMs: 5 * 60_000 });
    const clusterDefs = this.informers.get<ClusterDefinition>(API_VERSION, "ClusterDefinition");
    const compDefs = this.informers.get<ComponentDefinition>(API_VERSION, "ComponentDefinition");
    const versions = this.informers.get<ComponentVersion>(API_VERSION, "ComponentVersion");
    const catalog = new DefinitionCatalog({
      clusterDefinitions: () => clusterDefs.list(),
      componentDefinitions: () => compDefs.list(),
      componentVersions: () => versions.list(),
      onChange: (listener) => {
        const handlers = {
          add: listener,
          update: (a: unknown, b: unknown) => a !== b && listener(),
          delete: listener,
        };
        clusterDefs.addHandlers(handlers);
        compDefs.addHandlers(handlers);
        versions.addHandlers(handlers);
      },
    });
    const ctx: OperatorContext = {
      client: this.client,
      informers: this.informers,
      recorder: new EventRecorder(this.client, "tessera-operator", logger),
      actions: new ActionRunner(this.client, logger),
      logger,
    };
    this.controllers = [
      new ClusterController(ctx, catalog).controller,
      new ComponentController(ctx, catalog).controller,
      new InstanceSetController(ctx).controller,
      new HaController(ctx, catalog).controller,
      new OpsController(ctx, catalog).controller,
      new BackupRepoController(ctx, options.namespace).controller,
      new BackupController(ctx, catalog).controller,
      new ClusterBackupController(ctx).controller,
      new BackupScheduleController(ctx).controller,
      new TenantController(ctx).controller,
    ];
    if (options.leaderElection) {
      const leaseDurationMs = options.leaderElection.leaseDurationMs ?? 15_000;
      this.elector = new LeaderElector(this.client, {
        namespace: options.namespace,
        name: OPERATOR_LEASE,
        leaseDurationMs,
        renewDeadlineMs: Math.round(leaseDurationMs * (2 / 3)),
        retryPeriodMs: Math.max(200, Math.round(leaseDurationMs / 7.5)),
        identity: options.identity ?? `${hostname()}_${process.pid}_${randomBytes(3).toString("hex")}`,
        logger,
      });
    }
    if (options.webhook) {
      this.webhook = new AdmissionWebhook(
        this.client,
        catalog,
        {
          namespace: options.namespace,
          endpoint: options.webhook.endpoint,
          port: options.webhook.port,
          certificates: options.webhook.certificates,
          logger,
        },
        new ClusterPlacement(this.client, this.informers),
      );
    }
  }

  static async start(options: OperatorOptions): Promise<Operator> {
    const operator = new Operator(options);
    await operator.run();
    return operator;
  }

  get metricsPort(): number | undefined {
    return (this.httpServer?.address() as AddressInfo | null)?.port;
  }

  /** Resolves when this process stops leading (the process should then exit and restart). */
  get leadershipEnded(): Promise<void> {
    return this.leading ?? new Promise(() => undefined);
  }

  get isLeader(): boolean {
    return this.leader;
  }

  private async run(): Promise<void> {
    await this.serveHttp();
    this.informers.start();
    await this.informers.waitForSync();
    await this.webhook?.start();
    this.serving = true;
    const lead = async (signal?: AbortSignal) => {
      this.leader = true;
      for (const controller of this.controllers) controller.start();
      this.options.logger.info("controllers started");
      if (signal) await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
    };
    if (this.elector) {
      this.leading = this.elector.run(lead).then(async () => {
        this.leader = false;
        await Promise.all(this.controllers.map((c) => c.stop()));
      });
    } else {
      await lead();
    }
  }

  private async serveHttp(): Promise<void> {
    this.httpServer = createServer((req, res) => {
      const path = req.url?.split("?")[0];
      if (path === "/metrics") {
        metricsRegistry
          .metrics()
          .then((text) => res.writeHead(200, { "content-type": metricsRegistry.contentType }).end(text))
          .catch(() => res.writeHead(500).end());
      } else if (path === "/healthz") {
        res.writeHead(200).end("ok");
      } else if (path === "/readyz") {
        // Ready once caches are synced and the webhook serves; standbys are ready too (they serve the webhook).
        res
          .writeHead(this.serving ? 200 : 503)
          .end(this.leader ? "leader" : this.serving ? "standby" : "starting");
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve, reject) => {
      this.httpServer!.once("error", reject);
      this.httpServer!.listen(this.options.metrics.port, this.options.metrics.host, resolve);
    });
  }

  /** Graceful shutdown: finish in-flight reconciles, release the Lease, close everything. */
  async stop(): Promise<void> {
    if (this.elector) {
      this.elector.stop();
      await this.leading;
    } else {
      await Promise.all(this.controllers.map((c) => c.stop()));
    }
    await this.webhook?.stop();
    await this.informers.stop();
    await new Promise<void>((resolve) =>
      this.httpServer ? this.httpServer.close(() => resolve()) : resolve(),
    );
    this.client.close();
  }
}
