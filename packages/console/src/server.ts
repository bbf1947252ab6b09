import { existsSync, readFileSync, statSync } from "node:fs";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import type { KubeConfig } from "@kubernetes/client-node";
import { API_VERSION, type Cluster } from "@tessera/api";
import { ApiError, errorMessage, type KubeClient } from "@tessera/kube";
import { Sessions, SignInError, type Credentials } from "./sessions.js";
import { clusterDetail, listClusters, overview } from "./views.js";
import { RANGES, clusterCharts } from "./metrics.js";
import { watchClusters } from "./events.js";

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

/** An apiserver refusal keeps its status (401, 403, 404 …) and message; anything else is a 502. */
function sendError(reply: FastifyReply, error: unknown): FastifyReply {
  if (error instanceof ApiError)
    return reply.code(error.statusCode).send({ error: error.message, reason: error.reason });
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
    await watchClusters(client, request.query.namespace || undefined, abort.signal, {
      synced: () => send("synced", {}),
      change: (change) => send("cluster", change),
      error: (error) => send("problem", { error: errorMessage(error) }),
    });
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
