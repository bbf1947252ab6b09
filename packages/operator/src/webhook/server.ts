import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import { isDeepStrictEqual } from "node:util";
import type { AddressInfo } from "node:net";
import type { V1Secret } from "@kubernetes/client-node";
import {
  API_VERSION,
  FIELD_MANAGER,
  GROUP,
  VERSION,
  type Backup,
  type BackupPolicy,
  type BackupRepo,
  type BackupSchedule,
  type Cluster,
  type OpsRequest,
} from "@tessera/api";
import { errorMessage, isAlreadyExists, isConflict, type KubeClient, type Logger } from "@tessera/kube";
import type { DefinitionCatalog } from "../definitions.js";
import {
  DEFAULT_LIFETIMES,
  renewalReason,
  renewTls,
  type CertificateLifetimes,
  type WebhookEndpoint,
  servingNames,
  type WebhookTls,
} from "./certificates.js";
import { backupPolicyRefusal, backupRefusal, backupScheduleRefusal, clusterBackupErrors } from "./backup.js";
import { backupRepoRefusal } from "./backup-repo.js";
import { backupRepoDefaults, defaultsWebhookConfiguration, DEFAULTS_PATH } from "./defaults.js";
import { opsRequestRefusal } from "./ops.js";
import type { ClusterPlacement } from "./placement.js";
import { SCALED_KINDS, scaleRefusal } from "./scale.js";
import { tenantRefusal } from "./tenant.js";
import { validateCluster, validateClusterDelete } from "./validate.js";

const CONFIGURATION_NAME = "tessera-validating-webhook";
const TLS_SECRET = "tessera-webhook-tls";
const PATH = "/validate/clusters";

interface AdmissionRequest {
  uid: string;
  operation: "CREATE" | "UPDATE" | "DELETE" | "CONNECT";
  object?: Cluster;
  oldObject?: Cluster;
  /** Set for a subresource, e.g. `scale`: then object is that subresource's (an autoscaling/v1 Scale). */
  subResource?: string;
  resource?: { group: string; version: string; resource: string };
  name?: string;
  namespace?: string;
}

export interface WebhookOptions {
  namespace: string;
  endpoint: WebhookEndpoint;
  port: number;
  logger: Logger;
  /** Certificate lifetimes and how often they are checked (defaults: CA 10 years, serving 1 year, every 10 minutes). */
  certificates?: Partial<CertificateLifetimes>;
}

const SECRET_KEYS = { caBundle: "ca.crt", caKey: "ca.key", cert: "tls.crt", key: "tls.key" } as const;

function tlsFromSecret(secret: V1Secret): WebhookTls {
  const field = (k: string) => Buffer.from(secret.data?.[k] ?? "", "base64").toString("utf8");
  return {
    caBundle: field(SECRET_KEYS.caBundle),
    caKeyPem: field(SECRET_KEYS.caKey),
    certPem: field(SECRET_KEYS.cert),
    keyPem: field(SECRET_KEYS.key),
  };
}

function tlsSecretData(tls: WebhookTls): Record<string, string> {
  return {
    [SECRET_KEYS.caBundle]: tls.caBundle,
    [SECRET_KEYS.caKey]: tls.caKeyPem,
    [SECRET_KEYS.cert]: tls.certPem,
    [SECRET_KEYS.key]: tls.keyPem,
  };
}

/**
 * The serving certificate lives in a Secret so every operator replica and
 * every restart presents the same CA to the apiserver. Whichever replica
 * finds it due renews it; a write that loses a race to another replica is
 * dropped and the winner's certificate read back.
 */
async function ensureTls(
  client: KubeClient,
  options: WebhookOptions,
  lifetimes: CertificateLifetimes,
): Promise<WebhookTls> {
  const ref = { apiVersion: "v1", kind: "Secret", namespace: options.namespace, name: TLS_SECRET };
  const names = servingNames(options);
  for (;;) {
    const existing = await client.find<V1Secret>(ref);
    const current = existing ? tlsFromSecret(existing) : undefined;
    const reason = renewalReason(current, names);
    if (!reason) return current!;
    const renewed = await renewTls(current, names, lifetimes);
    const secret: V1Secret = {
      apiVersion: "v1",
      kind: "Secret",
      type: "kubernetes.io/tls",
      metadata: {
        name: TLS_SECRET,
        namespace: options.namespace,
        ...(existing ? { resourceVersion: existing.metadata!.resourceVersion } : {}),
      },
      stringData: tlsSecretData(renewed),
    };
    try {
      await (existing ? client.replace(secret) : client.create(secret));
      options.logger.info({ reason }, "webhook certificate issued");
      return renewed;
    } catch (error) {
      if (!isAlreadyExists(error) && !isConflict(error)) throw error;
    }
  }
}

function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")));
      } catch (error) {
        reject(error);
      }
    });
    req.on("error", reject);
  });
}

/** The validating admission webhook: cross-object checks `kubectl apply` reports with the field and the fix. */
export class AdmissionWebhook {
  private server?: Server;
  private serving?: WebhookTls;
  private renewal?: NodeJS.Timeout;
  private refreshing = false;
  private readonly lifetimes: CertificateLifetimes;

  constructor(
    private readonly client: KubeClient,
    private readonly catalog: DefinitionCatalog,
    private readonly options: WebhookOptions,
    /** Checks against StorageClasses and nodes; without it only the spec and the definitions are checked. */
    private readonly placement?: ClusterPlacement,
  ) {
    this.lifetimes = { ...DEFAULT_LIFETIMES, ...options.certificates };
  }

  async review(request: AdmissionRequest): Promise<{ allowed: boolean; message?: string }> {
    const tenantMessage = await tenantRefusal(this.client, this.catalog, request);
    if (tenantMessage) return { allowed: false, message: tenantMessage };
    if (request.resource?.resource === "tenants") return { allowed: true };
    if (request.subResource === "scale") return this.reviewScale(request);
    if (request.resource?.resource === "opsrequests") return this.reviewOps(request);
    if (request.resource?.resource === "backuprepos") return this.reviewBackupRepo(request);
    if (request.resource?.resource === "backups") return this.reviewBackup(request);
    if (request.resource?.resource === "backuppolicies") return this.reviewBackupPolicy(request);
    if (request.resource?.resource === "backupschedules") return this.reviewBackupSchedule(request);
    if (request.operation === "DELETE") {
      const message = request.oldObject ? validateClusterDelete(request.oldObject) : undefined;
      return message ? { allowed: false, message } : { allowed: true };
    }
    if (!request.object) return { allowed: true };
    // A cluster being deleted only sheds finalizers and status; never block that.
    if (request.object.metadata.deletionTimestamp) return { allowed: true };
    const old = request.operation === "UPDATE" ? request.oldObject : undefined;
    // Metadata-only updates (finalizers, labels) pass even when a definition or class the spec names is gone.
    if (old && isDeepStrictEqual(old.spec, request.object.spec)) return { allowed: true };
    const errors = [
      ...validateCluster(this.catalog, request.object, old),
      ...((await this.placement?.errors(request.object, old)) ?? []),
      ...(await clusterBackupErrors(this.client, this.catalog, request.object, old)),
    ];
    return errors.length ? { allowed: false, message: errors.join("; ") } : { allowed: true };
  }

  /** OpsRequests: the cluster, components and instances they name, and what may change once created. */
  private async reviewOps(request: AdmissionRequest): Promise<{ allowed: boolean; message?: string }> {
    if (request.operation === "DELETE" || !request.object) return { allowed: true };
    const op = request.object as unknown as OpsRequest;
    const old = request.operation === "UPDATE" ? (request.oldObject as unknown as OpsRequest) : undefined;
    const message = await opsRequestRefusal(this.client, this.catalog, request.namespace, op, old);
    return message ? { allowed: false, message } : { allowed: true };
  }

  /** BackupRepos: the section their kind needs, the endpoint, the credentials Secret. */
  private async reviewBackupRepo(request: AdmissionRequest): Promise<{ allowed: boolean; message?: string }> {
    if (!request.object || request.object.metadata.deletionTimestamp) return { allowed: true };
    // Label or annotation changes pass even when the Secret the spec names is gone.
    const old = request.operation === "UPDATE" ? request.oldObject : undefined;
    if (old && isDeepStrictEqual(old.spec, request.object.spec)) return { allowed: true };
    const message = await backupRepoRefusal(this.client, request.object as unknown as BackupRepo);
    return message ? { allowed: false, message } : { allowed: true };
  }

  /** Backups: the cluster, method and repository they name; what they back up is fixed. */
  private async reviewBackup(request: AdmissionRequest): Promise<{ allowed: boolean; message?: string }> {
    if (request.operation === "DELETE" || !request.object || request.object.metadata.deletionTimestamp) {
      return { allowed: true };
    }
    const old = request.operation === "UPDATE" ? (request.oldObject as unknown as Backup) : undefined;
    const message = await backupRefusal(this.client, this.catalog, request.object as unknown as Backup, old);
    return message ? { allowed: false, message } : { allowed: true };
  }

  /** BackupPolicies: the cluster, method and repository they name. */
  private async reviewBackupPolicy(
    request: AdmissionRequest,
  ): Promise<{ allowed: boolean; message?: string }> {
    if (!request.object || request.object.metadata.deletionTimestamp) return { allowed: true };
    const old = request.operation === "UPDATE" ? (request.oldObject as unknown as BackupPolicy) : undefined;
    if (old && isDeepStrictEqual(old.spec, request.object.spec)) return { allowed: true };
    const policy = request.object as unknown as BackupPolicy;
    const message = await backupPolicyRefusal(this.client, this.catalog, policy, old);
    return message ? { allowed: false, message } : { allowed: true };
  }

  /** BackupSchedules: the cron expression, the policy and the method they name. */
  private async reviewBackupSchedule(
    request: AdmissionRequest,
  ): Promise<{ allowed: boolean; message?: string }> {
    if (!request.object || request.object.metadata.deletionTimestamp) return { allowed: true };
    const old = request.operation === "UPDATE" ? (request.oldObject as unknown as BackupSchedule) : undefined;
    if (old && isDeepStrictEqual(old.spec, request.object.spec)) return { allowed: true };
    const schedule = request.object as unknown as BackupSchedule;
    const message = await backupScheduleRefusal(this.client, this.catalog, schedule, old);
    return message ? { allowed: false, message } : { allowed: true };
  }

  /** A scale of a Component or InstanceSet is refused while an owner sets its replicas. */
  private async reviewScale(request: AdmissionRequest): Promise<{ allowed: boolean; message?: string }> {
    const kind = SCALED_KINDS[request.resource?.resource ?? ""];
    if (!kind || !request.name) return { allowed: true };
    const message = await scaleRefusal(kind, request.name, (ownerKind, name) =>
      this.client.find({ apiVersion: API_VERSION, kind: ownerKind, namespace: request.namespace, name }),
    );
    return message ? { allowed: false, message } : { allowed: true };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = req.url?.split("?")[0];
    if (req.method !== "POST" || (path !== PATH && path !== DEFAULTS_PATH)) {
      res.writeHead(404).end();
      return;
    }
    try {
      const body = (await readJson(req)) as { request: AdmissionRequest };
      const patch = path === DEFAULTS_PATH ? await backupRepoDefaults(this.client, body.request) : [];
      const verdict = path === DEFAULTS_PATH ? { allowed: true } : await this.review(body.request);
      const response = {
        apiVersion: "admission.k8s.io/v1",
        kind: "AdmissionReview",
        response: {
          uid: body.request.uid,
          allowed: verdict.allowed,
          ...(verdict.allowed ? {} : { status: { code: 403, message: verdict.message } }),
          ...(patch.length
            ? { patchType: "JSONPatch", patch: Buffer.from(JSON.stringify(patch)).toString("base64") }
            : {}),
        },
      };
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(response));
    } catch (error) {
      this.options.logger.warn({ err: errorMessage(error) }, "admission review failed");
      res.writeHead(400).end();
    }
  }

  /** Serves the webhook, registers it with the apiserver and keeps its certificate current. */
  async start(): Promise<void> {
    const tls = await ensureTls(this.client, this.options, this.lifetimes);
    this.server = createServer(
      { cert: tls.certPem, key: tls.keyPem },
      (req, res) => void this.handle(req, res),
    );
    const host = "host" in this.options.endpoint ? this.options.endpoint.host : "0.0.0.0";
    await new Promise<void>((resolve, reject) => {
      this.server!.once("error", reject);
      this.server!.listen(this.options.port, host, resolve);
    });
    await this.register(tls.caBundle);
    this.serving = tls;
    this.renewal = setInterval(() => void this.refresh(), this.lifetimes.checkIntervalMs);
    this.options.logger.info({ port: this.port, api: API_VERSION }, "admission webhook serving");
  }

  /**
   * Renews the certificate when due and serves the stored one. The apiserver
   * is given the new CA bundle before the new certificate is served, so it
   * always trusts what it is presented; open connections keep their
   * certificate, new ones get the new one, and the server never restarts.
   */
  private async refresh(): Promise<void> {
    if (this.refreshing || !this.server) return;
    this.refreshing = true;
    try {
      const tls = await ensureTls(this.client, this.options, this.lifetimes);
      if (tls.caBundle !== this.serving?.caBundle) await this.register(tls.caBundle);
      if (tls.certPem !== this.serving?.certPem) {
        this.server.setSecureContext({ cert: tls.certPem, key: tls.keyPem });
        this.options.logger.info("admission webhook serves a renewed certificate");
      }
      this.serving = tls;
    } catch (error) {
      this.options.logger.warn({ err: errorMessage(error) }, "webhook certificate check failed; retrying");
    } finally {
      this.refreshing = false;
    }
  }

  /**
   * Three webhooks: creates and updates are validated fail-closed, so nothing
   * unchecked gets in while the operator is away; deletes are checked
   * fail-open, because a DoNotTerminate cluster is held by its finalizer
   * anyway and a stopped operator must not block deleting anything else.
   * Scales of Components and InstanceSets are checked fail-closed too: one
   * made while the operator is away would still be passed on and undone
   * when it returns. OpsRequests are checked fail-closed as well: one that
   * names what does not exist would only fail later. Tenants are checked
   * fail-closed, deletes included: a tenant deleted unchecked would take its
   * clusters' namespace with it. Beside them, the mutating webhook filling
   * tenants' defaults (defaults.ts).
   */
  private async register(caBundle: string): Promise<void> {
    const port = this.port!;
    const clientConfigFor = (path: string) => ({
      ...("host" in this.options.endpoint
        ? { url: `https://${this.options.endpoint.host}:${port}${path}` }
        : {
            service: {
              namespace: this.options.namespace,
              name: this.options.endpoint.service,
              path,
              port,
            },
          }),
      caBundle: Buffer.from(caBundle).toString("base64"),
    });
    const clientConfig = clientConfigFor(PATH);
    const webhook = (
      name: string,
      operations: string[],
      failurePolicy: "Fail" | "Ignore",
      resources = ["clusters"],
      scope: "Namespaced" | "Cluster" = "Namespaced",
    ) => ({
      name,
      rules: [
        {
          apiGroups: [GROUP],
          apiVersions: [VERSION],
          operations,
          resources,
          scope,
        },
      ],
      clientConfig,
      admissionReviewVersions: ["v1"],
      sideEffects: "None",
      failurePolicy,
      timeoutSeconds: 10,
    });
    await this.client.apply(
      {
        apiVersion: "admissionregistration.k8s.io/v1",
        kind: "ValidatingWebhookConfiguration",
        metadata: { name: CONFIGURATION_NAME },
        webhooks: [
          webhook(`clusters.${GROUP}`, ["CREATE", "UPDATE"], "Fail"),
          webhook(`cluster-deletions.${GROUP}`, ["DELETE"], "Ignore"),
          webhook(`scale.${GROUP}`, ["UPDATE"], "Fail", ["components/scale", "instancesets/scale"]),
          webhook(`opsrequests.${GROUP}`, ["CREATE", "UPDATE"], "Fail", ["opsrequests"]),
          webhook(`backuprepos.${GROUP}`, ["CREATE", "UPDATE"], "Fail", ["backuprepos"], "Cluster"),
          webhook(`backups.${GROUP}`, ["CREATE", "UPDATE"], "Fail", ["backups"]),
          webhook(`backuppolicies.${GROUP}`, ["CREATE", "UPDATE"], "Fail", ["backuppolicies"]),
          webhook(`backupschedules.${GROUP}`, ["CREATE", "UPDATE"], "Fail", ["backupschedules"]),
          webhook(`tenants.${GROUP}`, ["CREATE", "UPDATE", "DELETE"], "Fail", ["tenants"], "Cluster"),
        ],
      } as { apiVersion: string; kind: string; metadata: { name: string } },
      FIELD_MANAGER,
    );
    await this.client.apply(defaultsWebhookConfiguration(clientConfigFor(DEFAULTS_PATH)), FIELD_MANAGER);
  }

  get port(): number | undefined {
    return (this.server?.address() as AddressInfo | null)?.port;
  }

  async stop(): Promise<void> {
    clearInterval(this.renewal);
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
