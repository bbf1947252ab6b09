import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ipam } from "../../src/network/ipam.js";
import { cidrContains, parseCidr } from "../../src/network/cidr.js";

test("addresses are stable per pod, handed out round-robin and persisted", () => {
  const dir = mkdtempSync(join(tmpdir(), "ipam-"));
  try {
    const file = join(dir, "ipam.json");
    const ipam = new Ipam("127.130.0.0/16", file);
    assert.equal(ipam.allocate("a"), "127.130.0.1");
    assert.equal(ipam.allocate("b"), "127.130.0.2");
    assert.equal(ipam.allocate("a"), "127.130.0.1");
    ipam.release("a");
    assert.equal(ipam.allocate("c"), "127.130.0.3", "a released address is not reused at once");
    const reloaded = new Ipam("127.130.0.0/16", file);
    assert.equal(reloaded.get("b"), "127.130.0.2");
    assert.equal(reloaded.allocate("d"), "127.130.0.4");
    reloaded.retain(new Set(["d"]));
    assert.equal(reloaded.get("b"), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a small range wraps around and reports exhaustion", () => {
  const ipam = new Ipam("127.5.5.0/30");
  assert.equal(ipam.allocate("a"), "127.5.5.1");
  assert.equal(ipam.allocate("b"), "127.5.5.2");
  assert.throws(() => ipam.allocate("c"), /exhausted/);
  ipam.release("a");
  assert.equal(ipam.allocate("c"), "127.5.5.1");
});

test("CIDR parsing and membership", () => {
  const cidr = parseCidr("127.96.0.0/16");
  assert.ok(cidrContains(cidr, "127.96.255.1"));
  assert.ok(!cidrContains(cidr, "127.97.0.1"));
});
