import { test } from "node:test";
import assert from "node:assert/strict";
import { connect, createServer, type AddressInfo } from "node:net";
import { createLogger } from "@tessera/kube";
import { UserspaceProxy } from "../../src/network/proxy.js";

test("without iptables, a user-space proxy splices ClusterIP connections to an endpoint", async () => {
  const backend = createServer((socket) => socket.pipe(socket));
  await new Promise<void>((resolve) => backend.listen(0, "127.77.0.2", resolve));
  const port = (backend.address() as AddressInfo).port;
  const proxy = new UserspaceProxy(createLogger("test", "silent"));
  try {
    proxy.setRoutes([
      {
        name: "ns/echo:1",
        clusterIP: "127.77.1.1",
        port,
        protocol: "TCP",
        endpoints: [{ ip: "127.77.0.2", port }],
      },
    ]);
    const echoed = await new Promise<string>((resolve, reject) => {
      const attempt = () => {
        const client = connect({ host: "127.77.1.1", port });
        client.once("error", () => setTimeout(attempt, 20));
        client.once("connect", () => client.end("ping"));
        let data = "";
        client.on("data", (chunk: Buffer) => (data += chunk.toString()));
        client.once("close", () => (data ? resolve(data) : undefined));
      };
      attempt();
      setTimeout(() => reject(new Error("no answer through the proxy")), 5000).unref();
    });
    assert.equal(echoed, "ping");
  } finally {
    proxy.close();
    backend.close();
  }
});
