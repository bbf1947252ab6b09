import { connect, createServer, type Server, type Socket } from "node:net";
import type { Logger } from "@tessera/kube";
import type { Endpoint, ServiceRoute } from "./endpoints.js";

/**
 * Service routing without iptables (when not root): a TCP listener on each
 * ClusterIP port that splices every connection to a random endpoint.
 */
export class UserspaceProxy {
  private readonly listeners = new Map<string, { server: Server; endpoints: Endpoint[] }>();
  private readonly sockets = new Set<Socket>();

  constructor(private readonly logger: Logger) {}

  setRoutes(routes: ServiceRoute[]): void {
    const wanted = new Map(
      routes.filter((r) => r.protocol === "TCP").map((r) => [`${r.clusterIP}:${r.port}`, r]),
    );
    for (const [key, listener] of this.listeners) {
      if (!wanted.has(key)) {
        listener.server.close();
        this.listeners.delete(key);
      }
    }
    for (const [key, route] of wanted) {
      const existing = this.listeners.get(key);
      if (existing) {
        existing.endpoints = route.endpoints;
        continue;
      }
      const entry = {
        server: createServer({ allowHalfOpen: true }, (client) => this.splice(client, entry.endpoints)),
        endpoints: route.endpoints,
      };
      entry.server.on("error", (error) =>
        this.logger.warn({ route: route.name, err: error.message }, "proxy listener failed"),
      );
      entry.server.listen(route.port, route.clusterIP);
      this.listeners.set(key, entry);
    }
  }

  private splice(client: Socket, endpoints: Endpoint[]): void {
    const endpoint = endpoints[Math.floor(Math.random() * endpoints.length)];
    if (!endpoint) return void client.destroy();
    // Half-open on both sides: a client that finishes sending still gets the whole answer.
    const upstream = connect({ host: endpoint.ip, port: endpoint.port, allowHalfOpen: true });
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.once("close", () => this.sockets.delete(socket));
      socket.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  }

  close(): void {
    for (const { server } of this.listeners.values()) server.close();
    this.listeners.clear();
    for (const socket of this.sockets) socket.destroy();
  }
}
