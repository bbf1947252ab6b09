import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import type { ClientRequest } from "node:http";
import type { Socket } from "node:net";
import { TestCluster } from "@tessera/testing";
import { KubeClient } from "../../src/client.js";

let cluster: TestCluster;

before(async () => {
  cluster = await TestCluster.start();
});

after(async () => {
  await cluster?.stop();
});

/** Counts the connections HTTP requests of this process used while `body` ran that no earlier request had used. */
const seen = new WeakSet<Socket>();
async function connectionsOpenedBy(body: () => Promise<void>): Promise<number> {
  let opened = 0;
  const note = (socket: Socket) => {
    if (!seen.has(socket)) opened++;
    seen.add(socket);
  };
  // A request that found a free socket has it already; one queued behind a busy pool gets it later.
  const count = (message: unknown) => {
    const { request } = message as { request: ClientRequest };
    if (request.socket) note(request.socket);
    else request.once("socket", note);
  };
  subscribe("http.client.request.start", count);
  try {
    await body();
  } finally {
    unsubscribe("http.client.request.start", count);
  }
  return opened;
}

test("requests share pooled connections instead of a TLS handshake each", async () => {
  const client = new KubeClient(cluster.client.kubeConfig);
  try {
    const sequential = await connectionsOpenedBy(async () => {
      for (let i = 0; i < 20; i++) await client.list("v1", "Namespace");
    });
    assert.equal(sequential, 1, "twenty requests one after another need one connection");

    const concurrent = await connectionsOpenedBy(async () => {
      for (let round = 0; round < 3; round++)
        await Promise.all(Array.from({ length: 5 }, () => client.list("v1", "Namespace")));
    });
    assert.ok(concurrent <= 4, `rounds of five concurrent requests reuse the pool (opened ${concurrent})`);

    const refused = await connectionsOpenedBy(async () => {
      for (let i = 0; i < 5; i++) {
        await assert.rejects(
          client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: "default" } }),
        );
      }
    });
    assert.equal(refused, 0, "an error response leaves its connection reusable");
  } finally {
    client.close();
  }
});
