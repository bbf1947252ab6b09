import http from "node:http";
import https from "node:https";
import { createInterface } from "node:readline";
import { KubeConfig, type V1Status } from "@kubernetes/client-node";
import { ApiError } from "./errors.js";

/**
 * Object metadata as it travels over the wire. Timestamps are typed loosely
 * because client-node's models declare Date while the API sends strings.
 */
export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: {
    apiVersion: string;
    kind: string;
    name: string;
    uid: string;
    controller?: boolean;
    blockOwnerDeletion?: boolean;
  }[];
  creationTimestamp?: Date | string;
  deletionTimestamp?: Date | string;
  managedFields?: { manager?: string; operation?: string }[];
}

export interface KubernetesObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
}

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

export interface ResourceInfo {
  group: string;
  version: string;
  plural: string;
  namespaced: boolean;
}

export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  limit?: number;
  continue?: string;
}

export interface ListResult<T> {
  items: T[];
  metadata: { resourceVersion?: string; continue?: string };
}

export interface WatchEvent<T> {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: T;
}

export type PatchType = "merge" | "json" | "strategic" | "apply";

const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  merge: "application/merge-patch+json",
  json: "application/json-patch+json",
  strategic: "application/strategic-merge-patch+json",
  apply: "application/apply-patch+yaml",
};

interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  timeoutMs?: number;
}

/** Loads a kubeconfig from a path, $KUBECONFIG, ~/.kube/config or the in-cluster service account. */
export function loadKubeConfig(path?: string, context?: string): KubeConfig {
  const kc = new KubeConfig();
  if (path) kc.loadFromFile(path);
  else kc.loadFromDefault();
  if (context) kc.setCurrentContext(context);
  return kc;
}

/**
 * A small, typed REST client over the kubeconfig's transport. It speaks to
 * any resource (including subresources such as `/status`), resolves kinds
 * through discovery and surfaces apiserver failures as `ApiError`.
 */
export class KubeClient {
  private readonly agent: http.Agent;
  private readonly discovery = new Map<string, Promise<Map<string, ResourceInfo>>>();
  private readonly server: URL;

  constructor(readonly kubeConfig: KubeConfig) {
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error("kubeconfig has no current cluster");
    this.server = new URL(cluster.server);
    const Agent = this.server.protocol === "https:" ? https.Agent : http.Agent;
    this.agent = new Agent({ keepAlive: true, maxSockets: 64 });
  }

  /** Closes pooled connections so the process can exit. */
  close(): void {
    this.agent.destroy();
  }

  async resource(apiVersion: string, kind: string): Promise<ResourceInfo> {
    const found = (await this.discover(apiVersion)).get(kind);
    if (found) return found;
    // Kinds appear when CRDs are installed: refresh once before failing.
    this.discovery.delete(apiVersion);
    const refreshed = (await this.discover(apiVersion)).get(kind);
    if (!refreshed) throw new ApiError(404, "NotFound", `the server does not serve ${kind} in ${apiVersion}`);
    return refreshed;
  }

  private discover(apiVersion: string): Promise<Map<string, ResourceInfo>> {
    let entry = this.discovery.get(apiVersion);
    if (!entry) {
      const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
      const path = group ? `/apis/${group}/${version}` : `/api/${version}`;
      entry = this.request<{ resources: { name: string; kind: string; namespaced: boolean }[] }>(
        "GET",
        path,
      ).then((list) => {
        const kinds = new Map<string, ResourceInfo>();
        for (const r of list.resources) {
          if (r.name.includes("/")) continue;
          kinds.set(r.kind, { group: group!, version: version!, plural: r.name, namespaced: r.namespaced });
        }
        return kinds;
      });
      entry.catch(() => this.discovery.delete(apiVersion));
      this.discovery.set(apiVersion, entry);
    }
    return entry;
  }

  /** The REST path of a collection or object (and optionally a subresource). */
  async path(
    apiVersion: string,
    kind: string,
    namespace?: string,
    name?: string,
    subresource?: string,
  ): Promise<string> {
    const info = await this.resource(apiVersion, kind);
    let path = info.group ? `/apis/${info.group}/${info.version}` : `/api/${info.version}`;
    if (info.namespaced && namespace) path += `/namespaces/${encodeURIComponent(namespace)}`;
    path += `/${info.plural}`;
    if (name) path += `/${encodeURIComponent(name)}`;
    if (subresource) path += `/${subresource}`;
    return path;
  }

  private objectPath(ref: ObjectRef, subresource?: string): Promise<string> {
    return this.path(ref.apiVersion, ref.kind, ref.namespace, ref.name, subresource);
  }

  async get<T extends KubernetesObject>(ref: ObjectRef): Promise<T> {
    return this.request<T>("GET", await this.objectPath(ref));
  }

  /** Like `get`, but undefined when the object does not exist. */
  async find<T extends KubernetesObject>(ref: ObjectRef): Promise<T | undefined> {
    try {
      return await this.get<T>(ref);
    } catch (error) {
      if (error instanceof ApiError && error.statusCode === 404) return undefined;
      throw error;
    }
  }

  async list<T extends KubernetesObject>(
    apiVersion: string,
    kind: string,
    options: ListOptions = {},
  ): Promise<ListResult<T>> {
    const { namespace, ...query } = options;
    const path = await this.path(apiVersion, kind, namespace);
    const result = await this.request<ListResult<T>>("GET", path, { query: { ...query } });
    for (const item of result.items) {
      // List items omit apiVersion/kind; restore them so items are self-describing.
      item.apiVersion ??= apiVersion;
      item.kind ??= kind;
    }
    return result;
  }

  /** Lists every page. */
  async listAll<T extends KubernetesObject>(
    apiVersion: string,
    kind: string,
    options: Omit<ListOptions, "continue" | "limit"> = {},
  ): Promise<ListResult<T>> {
    const items: T[] = [];
    let page: ListResult<T>;
    let cont: string | undefined;
    do {
      page = await this.list<T>(apiVersion, kind, { ...options, limit: 500, continue: cont });
      items.push(...page.items);
      cont = page.metadata.continue || undefined;
    } while (cont);
    return { items, metadata: { resourceVersion: page.metadata.resourceVersion } };
  }

  async create<T extends KubernetesObject>(object: T, options: { dryRun?: boolean } = {}): Promise<T> {
    if (!object.apiVersion || !object.kind) throw new Error("object needs apiVersion and kind");
    const path = await this.path(object.apiVersion, object.kind, object.metadata?.namespace);
    return this.request<T>("POST", path, {
      body: object,
      query: { dryRun: options.dryRun ? "All" : undefined },
    });
  }

  async replace<T extends KubernetesObject>(object: T, subresource?: string): Promise<T> {
    return this.request<T>("PUT", await this.objectPath(toRef(object), subresource), { body: object });
  }

  /**
   * Server-side apply: the object states every field `fieldManager` wants to
   * own; fields it owned before and omits now are removed.
   */
  async apply<T extends KubernetesObject>(
    object: T,
    fieldManager: string,
    options: { force?: boolean; subresource?: string; dryRun?: boolean } = {},
  ): Promise<T> {
    const path = await this.objectPath(toRef(object), options.subresource);
    return this.request<T>("PATCH", path, {
      body: object,
      contentType: PATCH_CONTENT_TYPES.apply,
      query: { fieldManager, force: options.force ?? true, dryRun: options.dryRun ? "All" : undefined },
    });
  }

  async patch<T extends KubernetesObject>(
    ref: ObjectRef,
    patch: unknown,
    type: Exclude<PatchType, "apply">,
    subresource?: string,
  ): Promise<T> {
    return this.request<T>("PATCH", await this.objectPath(ref, subresource), {
      body: patch,
      contentType: PATCH_CONTENT_TYPES[type],
    });
  }

  /** Deletes an object; true if it was deleted (or is being deleted), false if it did not exist. */
  async delete(
    ref: ObjectRef,
    options: {
      propagationPolicy?: "Foreground" | "Background" | "Orphan";
      gracePeriodSeconds?: number;
      preconditions?: { uid?: string; resourceVersion?: string };
    } = {},
  ): Promise<boolean> {
    try {
      await this.request<V1Status>("DELETE", await this.objectPath(ref), {
        body: { apiVersion: "v1", kind: "DeleteOptions", ...options },
      });
      return true;
    } catch (error) {
      if (error instanceof ApiError && error.statusCode === 404) return false;
      throw error;
    }
  }

  /**
   * Streams watch events until the server closes the stream, `signal`
   * aborts, or no data (events or bookmarks) arrives for `idleTimeoutMs`.
   */
  async watch<T extends KubernetesObject>(
    path: string,
    query: Record<string, string | number | boolean | undefined>,
    onEvent: (event: WatchEvent<T>) => void,
    options: { signal?: AbortSignal; idleTimeoutMs: number },
  ): Promise<void> {
    const response = await this.send("GET", path, { query: { ...query, watch: true } }, options.signal);
    if ((response.statusCode ?? 500) >= 300) throw await readError(response);
    await new Promise<void>((resolve, reject) => {
      let idle: NodeJS.Timeout | undefined;
      const armIdle = () => {
        clearTimeout(idle);
        idle = setTimeout(() => response.destroy(new Error("watch idle timeout")), options.idleTimeoutMs);
      };
      armIdle();
      const lines = createInterface({ input: response, crlfDelay: Infinity });
      lines.on("line", (line) => {
        armIdle();
        if (!line.trim()) return;
        onEvent(JSON.parse(line) as WatchEvent<T>);
      });
      const finish = (error?: Error) => {
        clearTimeout(idle);
        if (error && !options.signal?.aborted) reject(error);
        else resolve();
      };
      // readline re-emits input errors on itself; both must be handled.
      lines.on("error", finish);
      response.on("error", finish);
      response.once("end", () => finish());
      response.once("close", () => finish());
    });
  }

  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const text = await this.requestText(method, path, options);
    return (text ? JSON.parse(text) : {}) as T;
  }

  /** A request whose answer is plain text, such as a pod's log. */
  async requestText(method: string, path: string, options: RequestOptions = {}): Promise<string> {
    const response = await this.send(method, path, options);
    if ((response.statusCode ?? 500) >= 300) throw await readError(response);
    return readBody(response);
  }

  private async send(
    method: string,
    path: string,
    options: RequestOptions,
    signal?: AbortSignal,
  ): Promise<http.IncomingMessage> {
    const url = new URL(this.server.pathname.replace(/\/$/, "") + path, this.server);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const requestOptions: https.RequestOptions = {
      method,
      headers: {
        Accept: "application/json",
        ...(body !== undefined
          ? {
              "Content-Type": options.contentType ?? "application/json",
              "Content-Length": Buffer.byteLength(body),
            }
          : {}),
      },
      signal,
    };
    await this.kubeConfig.applyToHTTPSOptions(requestOptions);
    // The kubeconfig hands out a new agent on every call, which would cost a
    // TCP connection and TLS handshake per request; the pooled agent reuses
    // connections (a proxy needs the kubeconfig's own agent).
    if (!this.kubeConfig.getCurrentCluster()?.proxyUrl) requestOptions.agent = this.agent;
    const transport = url.protocol === "https:" ? https : http;
    return new Promise((resolve, reject) => {
      const req = transport.request(url, requestOptions, resolve);
      req.on("error", reject);
      if (options.timeoutMs ?? (signal ? undefined : 30_000)) {
        req.setTimeout(options.timeoutMs ?? 30_000, () =>
          req.destroy(new Error(`${method} ${url.pathname}: request timed out`)),
        );
      }
      req.end(body);
    });
  }
}

function toRef(object: KubernetesObject): ObjectRef {
  if (!object.apiVersion || !object.kind || !object.metadata?.name) {
    throw new Error("object needs apiVersion, kind and metadata.name");
  }
  return {
    apiVersion: object.apiVersion,
    kind: object.kind,
    name: object.metadata.name,
    namespace: object.metadata.namespace,
  };
}

function readBody(response: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    response.on("data", (chunk: Buffer) => chunks.push(chunk));
    response.once("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    response.once("error", reject);
  });
}

async function readError(response: http.IncomingMessage): Promise<ApiError> {
  const code = response.statusCode ?? 500;
  const text = await readBody(response).catch(() => "");
  try {
    const status = JSON.parse(text) as V1Status;
    return new ApiError(code, status.reason ?? String(code), status.message ?? text, status.details);
  } catch {
    return new ApiError(code, String(code), text || http.STATUS_CODES[code] || "request failed");
  }
}
