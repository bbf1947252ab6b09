import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { V1Secret } from "@kubernetes/client-node";
import { API_VERSION, FIELD_MANAGER, GROUP, VERSION, type Cluster } from "@tessera/api";
import {
  createCertificateAuthority,
  errorMessage,
  isAlreadyExists,
  issueCertificate,
  type KubeClient,
  type Logger,
} from "@tessera/kube";
import type { DefinitionCatalog } from "../definitions.js";
import { validateCluster, validateClusterDelete } from "./validate.js";

const CONFIGURATION_NAME = "tessera-validating-webhook";
const TLS_SECRET = "tessera-webhook-tls";
const PATH = "/validate/clusters";

interface AdmissionRequest {
  uid: string;
  operation: "CREATE" | "UPDATE" | "DELETE" | "CONNECT";
  object?: Cluster;
  oldObject?: Cluster;
}

export interface WebhookOptions {
  namespace: string;
  /** Where the apiserver reaches the webhook: a URL host (out of cluster) or a Service (in cluster). */
  endpoint: { host: string } | { service: string };
  port: number;
  logger: Logger;
}

interface TlsMaterial {
  caPem: string;
  certPem: string;
  keyPem: string;
}

/**
 * Serving certificates live in a Secret so every operator replica and every
 * restart presents the same CA to the apiserver.
 */
async function ensureTls(client: KubeClient, options: WebhookOptions): Promise<TlsMaterial> {
  const ref = { apiVersion: "v1", kind: "Secret", namespace: options.namespace, name: TLS_SECRET };
  const read = (secret: V1Secret): TlsMaterial => {
    const field = (k: string) => Buffer.from(secret.data?.[k] ?? "", "base64").toString("utf8");
    return { caPem: field("ca.crt"), certPem: field("tls.crt"), keyPem: field("tls.key") };
  };
  const existing = await client.find<V1Secret>(ref);
  if (existing) return read(existing);
  const ca = await createCertificateAuthority("tessera-webhook-ca");
  const dnsNames = ["localhost"];
  if ("service" in options.endpoint) {
    const s = options.endpoint.service;
    dnsNames.push(
      s,
      `${s}.${options.namespace}`,
      `${s}.${options.namespace}.svc`,
      `${s}.${options.namespace}.svc.cluster.local`,
    );
  }
  const ipAddresses =
    "host" in options.endpoint && /^[\d.]+$/.test(options.endpoint.host) ? [options.endpoint.host] : [];
  if ("host" in options.endpoint && ipAddresses.length === 0) dnsNames.push(options.endpoint.host);
  const leaf = await issueCertificate(ca, {
    commonName: "tessera-webhook",
    dnsNames,
    ipAddresses,
    usage: "server",
  });
  try {
    await client.create<V1Secret>({
      apiVersion: "v1",
      kind: "Secret",
      type: "kubernetes.io/tls",
      metadata: { name: TLS_SECRET, namespace: options.namespace },
      stringData: { "ca.crt": ca.certPem, "tls.crt": leaf.certPem, "tls.key": leaf.keyPem },
    });
    return { caPem: ca.certPem, certPem: leaf.certPem, keyPem: leaf.keyPem };
  } catch (error) {
    if (!isAlreadyExists(error)) throw error;
    return read((await client.find<V1Secret>(ref))!);
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

  constructor(
    private readonly client: KubeClient,
    private readonly catalog: DefinitionCatalog,
    private readonly options: WebhookOptions,
  ) {}

  review(request: AdmissionRequest): { allowed: boolean; message?: string } {
    if (request.operation === "DELETE") {
      const message = request.oldObject ? validateClusterDelete(request.oldObject) : undefined;
      return message ? { allowed: false, message } : { allowed: true };
    }
    if (!request.object) return { allowed: true };
    // A cluster being deleted only sheds finalizers and status; never block that.
    if (request.object.metadata.deletionTimestamp) return { allowed: true };
    const errors = validateCluster(
      this.catalog,
      request.object,
      request.operation === "UPDATE" ? request.oldObject : undefined,
    );
    return errors.length ? { allowed: false, message: errors.join("; ") } : { allowed: true };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== "POST" || req.url?.split("?")[0] !== PATH) {
      res.writeHead(404).end();
      return;
    }
    try {
      const body = (await readJson(req)) as { request: AdmissionRequest };
      const verdict = this.review(body.request);
      const response = {
        apiVersion: "admission.k8s.io/v1",
        kind: "AdmissionReview",
        response: {
          uid: body.request.uid,
          allowed: verdict.allowed,
          ...(verdict.allowed ? {} : { status: { code: 403, message: verdict.message } }),
        },
      };
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(response));
    } catch (error) {
      this.options.logger.warn({ err: errorMessage(error) }, "admission review failed");
      res.writeHead(400).end();
    }
  }

  /** Serves the webhook and registers it with the apiserver. */
  async start(): Promise<void> {
    const tls = await ensureTls(this.client, this.options);
    this.server = createServer(
      { cert: tls.certPem, key: tls.keyPem },
      (req, res) => void this.handle(req, res),
    );
    const host = "host" in this.options.endpoint ? this.options.endpoint.host : "0.0.0.0";
    await new Promise<void>((resolve, reject) => {
      this.server!.once("error", reject);
      this.server!.listen(this.options.port, host, resolve);
    });
    const port = (this.server.address() as AddressInfo).port;
    const clientConfig =
      "host" in this.options.endpoint
        ? {
            url: `https://${this.options.endpoint.host}:${port}${PATH}`,
            caBundle: Buffer.from(tls.caPem).toString("base64"),
          }
        : {
            service: {
              namespace: this.options.namespace,
              name: this.options.endpoint.service,
              path: PATH,
              port,
            },
            caBundle: Buffer.from(tls.caPem).toString("base64"),
          };
    await this.client.apply(
      {
        apiVersion: "admissionregistration.k8s.io/v1",
        kind: "ValidatingWebhookConfiguration",
        metadata: { name: CONFIGURATION_NAME },
        webhooks: [
          {
            name: `clusters.${GROUP}`,
            rules: [
              {
                apiGroups: [GROUP],
                apiVersions: [VERSION],
                operations: ["CREATE", "UPDATE", "DELETE"],
                resources: ["clusters"],
                scope: "Namespaced",
              },
            ],
            clientConfig,
            admissionReviewVersions: ["v1"],
            sideEffects: "None",
            failurePolicy: "Fail",
            timeoutSeconds: 10,
          },
        ],
      } as { apiVersion: string; kind: string; metadata: { name: string } },
      FIELD_MANAGER,
    );
    this.options.logger.info({ port, api: API_VERSION }, "admission webhook serving");
  }

  get port(): number | undefined {
    return (this.server?.address() as AddressInfo | null)?.port;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
