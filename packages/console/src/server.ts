import { existsSync, readFileSync, statSync } from "node:fs";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type RouteGenericInterface as RouteTypes,
} from "fastify";
import type { KubeConfig } from "@kubernetes/client-node";
import { API_VERSION, type Backup, type Cluster, type OpsRequest, type Tenant } from "@tessera/api";
import { ApiError, errorMessage, type KubeClient, type KubernetesObject } from "@tessera/kube";
import { Sessions, SignInError, type Credentials } from "./sessions.js";
import { clusterDetail, listClusters, overview, summarize, summarizeOps } from "./views.js";
import { RANGES, clusterCharts } from "./metrics.js";
import { watchKind } from "./events.js";
import { listEngines } from "./catalog.js";
import { clusterFromForm, restoreFromForm } from "./create.js";
import { FormError, refusedField } from "./forms.js";
import { operationFromForm } from "./operations.js";
import { backupFromForm, listBackups } from "./backups.js";
import { listTenants, quotaFromForm, tenantFromForm } from "./tenants.js";
import { instanceLog } from "./logs.js";

/** The built single-page app (`npm run build -w packages/console`). */
export const WEB_DIST = fileURLToPath(new URL("../dist/", import.meta.url));

const COOKIE = "tessera_session";

export interface ConsoleOptions {
  /** The console's own kubeconfig: which apiserver users sign in to, and its CA. */
  kubeConfig: KubeConfig;
  /** Prometheus for the performance charts; without it the charts say so. */
  prometheusURL?: string;
  /** The built app to serve (default WEB_DIST); the API works without it. */
  webDir?: string;
}

function sessionId(request: FastifyRequest): string | undefined {
  const cookies = request.headers.cookie?.split(/;\s*/) ?? [];
  return cookies.find((c) => c.startsWith(`${COOKIE}=`))?.slice(COOKIE.length + 1);
}

/**
 * An apiserver refusal keeps its status (401, 403, 404, 422 …) and message,
 * with the field it names for forms; a form the console refuses itself is
 * a 400 with its field; anything else is a 502.
 */
function sendError(reply: FastifyReply, error: unknown): FastifyReply {
  if (error instanceof FormError) return reply.code(400).send({ error: error.message, field: error.field });
  if (error instanceof ApiError)
    return reply
      .code(error.statusCode)
      .send({ error: error.message, reason: error.reason, field: refusedField(error.message) });
  return reply.code(502).send({ error: errorMessage(error) });
}

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".json": "application/json",
};

/**
 * The console: a JSON API under /api where every Kubernetes call is made
 * with the signed-in user's credentials, server-sent events from watches,
 * and the single-page app.
 */
export function consoleServer(options: ConsoleOptions): FastifyInstance {
  const app = Fastify({ logger: false });
  const sessions = new Sessions(options.kubeConfig);
  app.addHook("onClose", async () => sessions.close());

  /** The user's client, or a 401 reply. */
  const userClient = (request: FastifyRequest, reply: FastifyReply): KubeClient | undefined => {
    const session = sessions.get(sessionId(request));
    if (!session) void reply.code(401).send({ error: "not signed in" });
    return session?.client;
  };

  app.post<{ Body: Credentials }>("/api/session", async (request, reply) => {
    const body = request.body;
    const credentials =
      body && typeof body === "object" && "token" in body && typeof body.token === "string"
        ? { token: body.token.trim() }
        : body && typeof body === "object" && "kubeconfig" in body && typeof body.kubeconfig === "string"
          ? { kubeconfig: body.kubeconfig }
          : undefined;
    if (!credentials) return reply.code(400).send({ error: "send a token or a kubeconfig" });
    try {
      const id = await sessions.signIn(credentials);
      return reply
        .header("set-cookie", `${COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict`)
        .send({ signedIn: true });
    } catch (error) {
      if (error instanceof SignInError) return reply.code(401).send({ error: error.message });
      return sendError(reply, error);
    }
  });

  app.get("/api/session", async (request, reply) => {
    if (!userClient(request, reply)) return reply;
    return { signedIn: true };
  });

  app.delete("/api/session", async (request, reply) => {
    const id = sessionId(request);
    if (id) sessions.signOut(id);
    return reply.header("set-cookie", `${COOKIE}=; Path=/; Max-Age=0`).send({ signedIn: false });
  });

  app.get<{ Querystring: { namespace?: string } }>("/api/overview", async (request, reply) => {
    const client = userClient(request, reply);
    if (!client) return reply;
    return overview(client, request.query.namespace || undefined).catch((e: unknown) => sendError(reply, e));
  });

  app.get<{ Querystring: { namespace?: string } }>("/api/clusters", async (request, reply) => {
    const client = userClient(request, reply);
    if (!client) return reply;
    return listClusters(client, request.query.namespace || undefined).catch((e: unknown) =>
      sendError(reply, e),
    );
  });

  app.get<{ Params: { namespace: string; name: string } }>(
    "/api/clusters/:namespace/:name",
    async (request, reply) => {
      const client = userClient(request, reply);
      if (!client) return reply;
      const { namespace, name } = request.params;
      return clusterDetail(client, namespace, name).catch((e: unknown) => sendError(reply, e));
    },
  );

  app.get<{ Params: { namespace: string; name: string }; Querystring: { range?: string } }>(
    "/api/clusters/:namespace/:name/charts",
    async (request, reply) => {
      const client = userClient(request, reply);
      if (!client) return reply;
      const { namespace, name } = request.params;
      const range = request.query.range ?? "1h";
      if (!(range in RANGES))
        return reply.code(400).send({ error: `range is one of ${Object.keys(RANGES).join(", ")}` });
      if (!options.prometheusURL)
        return reply.code(503).send({ error: "the console has no Prometheus to read" });
      try {
        // Prometheus knows no users: the user's right to read the cluster decides.
        await client.get<Cluster>({ apiVersion: API_VERSION, kind: "Cluster", namespace, name });
        return await clusterCharts(options.prometheusURL, namespace, name, range);
      } catch (error) {
        return sendError(reply, error);
      }
    },
  );

  /** A route that acts as the signed-in user: `act` gets the user's client; refusals become replies. */
  const asUser =
    <R extends RouteTypes>(act: (client: KubeClient, request: FastifyRequest<R>) => Promise<unknown>) =>
    async (request: FastifyRequest<R>, reply: FastifyReply) => {
      const client = userClient(request, reply);
      if (!client) return reply;
      try {
        return await act(client, request);
      } catch (error) {
        return sendError(reply, error);
      }
    };

  app.get(
    "/api/engines",
    asUser((client) => listEngines(client)),
  );

  app.post(
    "/api/clusters",
    asUser(async (client, request) =>
      summarize(await client.create(await clusterFromForm(client, request.body))),
    ),
  );

  app.post<{ Params: { namespace: string; name: string } }>(
    "/api/clusters/:namespace/:name/operations",
    asUser<{ Params: { namespace: string; name: string } }>(async (client, request) => {
      const { namespace, name } = request.params;
      const ops = await client.create(operationFromForm(namespace, name, request.body));
      return { namespace, name: ops.metadata.name, type: ops.spec.type };
    }),
  );

  type LogRoute = {
    Params: { namespace: string; name: string; instance: string };
    Querystring: Record<string, unknown>;
  };
  app.get<LogRoute>(
    "/api/clusters/:namespace/:name/instances/:instance/log",
    asUser<LogRoute>((client, request) => {
      const { namespace, name, instance } = request.params;
      return instanceLog(client, namespace, name, instance, request.query);
    }),
  );

  app.get<{ Querystring: { namespace?: string } }>(
    "/api/backups",
    asUser<{ Querystring: { namespace?: string } }>((client, request) =>
      listBackups(client, request.query.namespace || undefined),
    ),
  );

  app.post(
    "/api/backups",
    asUser(async (client, request) => {
      const backup = await client.create(backupFromForm(request.body));
      return { namespace: backup.metadata.namespace, name: backup.metadata.name };
    }),
  );

  app.post<{ Params: { namespace: string; name: string } }>(
    "/api/backups/:namespace/:name/restore",
    asUser<{ Params: { namespace: string; name: string } }>(async (client, request) => {
      const { namespace, name } = request.params;
      return summarize(await client.create(await restoreFromForm(client, namespace, name, request.body)));
    }),
  );

  app.get(
    "/api/tenants",
    asUser((client) => listTenants(client)),
  );

  app.post(
    "/api/tenants",
    asUser(async (client, request) => {
      const tenant = await client.create(tenantFromForm(request.body));
      return { name: tenant.metadata.name };
    }),
  );

  app.patch<{ Params: { name: string }; Body: { quota?: unknown } }>(
    "/api/tenants/:name",
    asUser<{ Params: { name: string }; Body: { quota?: unknown } }>(async (client, request) => {
      const quota = quotaFromForm(request.body?.quota);
      const ref = { apiVersion: API_VERSION, kind: "Tenant", name: request.params.name };
      const tenant = await client.patch<Tenant>(ref, { spec: { quota } }, "merge");
      return { name: tenant.metadata.name };
    }),
  );

  app.delete<{ Params: { name: string } }>(
    "/api/tenants/:name",
    asUser<{ Params: { name: string } }>(async (client, request) => {
      const ref = { apiVersion: API_VERSION, kind: "Tenant", name: request.params.name };
      if (!(await client.delete(ref)))
        throw new ApiError(404, "NotFound", `tenant ${request.params.name} not found`);
      return { deleted: true };
    }),
  );

  app.get<{ Querystring: { namespace?: string } }>("/api/events", async (request, reply) => {
    const client = userClient(request, reply);
    if (!client) return reply;
    const abort = new AbortController();
    request.raw.on("close", () => abort.abort());
    reply.hijack();
    reply.raw.writeHead(200, {
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
      connection: "keep-alive",
    });
    const send = (event: string, data: unknown) =>
      reply.raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    const namespace = request.query.namespace || undefined;
    // Operations and backups change without their cluster changing: their pages follow them too.
    const follow = <T extends KubernetesObject>(
      kind: string,
      event: string,
      data: (object: T) => unknown,
      clusterWide = false,
    ) =>
      watchKind<T>(client, kind, clusterWide ? undefined : namespace, abort.signal, {
        synced: () => send("synced", { kind }),
        change: (type, object) => send(event, { type, [event]: data(object) }),
        error: (error) => send("problem", { kind, error: errorMessage(error) }),
      });
    await Promise.all([
      follow<Cluster>("Cluster", "cluster", summarize),
      follow<OpsRequest>("OpsRequest", "operation", summarizeOps),
      follow<Backup>("Backup", "backup", (b) => ({ namespace: b.metadata.namespace, name: b.metadata.name })),
      // Tenants have no namespace; only administrators may watch them, others' watch ends at its 403.
      follow<Tenant>("Tenant", "tenant", (t) => ({ name: t.metadata.name }), true),
    ]);
    reply.raw.end();
  });

  const webDir = options.webDir ?? WEB_DIST;
  app.get("/*", async (request, reply) => {
    const path = normalize(decodeURIComponent(request.url.split("?")[0]!)).replace(/^(\.\.[/\\])+/, "");
    let file = join(webDir, path);
    if (!file.startsWith(webDir) || !existsSync(file) || !statSync(file).isFile())
      file = join(webDir, "index.html");
    if (!existsSync(file))
      return reply
        .code(404)
        .send({ error: "the console's web app is not built (npm run build -w packages/console)" });
    return reply.type(CONTENT_TYPES[extname(file)] ?? "application/octet-stream").send(readFileSync(file));
  });

  return app;
}
