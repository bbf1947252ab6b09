import { test } from "node:test";
import assert from "node:assert/strict";
import { ImageCatalog, loadCatalogFile, normalizeImage, BUILTIN_CATALOG } from "../../src/images/catalog.js";

test("image references are normalized before matching", () => {
  assert.equal(normalizeImage("docker.io/library/redis:7.2"), "redis:7.2");
  assert.equal(normalizeImage("redis"), "redis:latest");
  assert.equal(normalizeImage("quay.io/coreos/etcd:v3.4.13"), "coreos/etcd:v3.4.13");
  assert.equal(normalizeImage("localhost:5000/app@sha256:abc"), "app:latest");
});

test("the built-in catalog maps engines to Debian packages; the first match wins", () => {
  const catalog = new ImageCatalog(loadCatalogFile(BUILTIN_CATALOG), () => true);
  const postgres = catalog.resolve("postgres:15.4-bookworm");
  assert.ok(postgres.ok);
  assert.equal(postgres.entry.package, "postgresql-15");
  assert.deepEqual(postgres.entry.path, ["/usr/lib/postgresql/15/bin"]);
  const redis = catalog.resolve("docker.io/bitnami/redis:7.0.15");
  assert.ok(redis.ok && redis.entry.package === "redis-server");
  const etcd = catalog.resolve("quay.io/coreos/etcd:v3.4.26");
  assert.ok(etcd.ok && etcd.entry.package === "etcd-server");
  const shell = catalog.resolve("busybox:1.36");
  assert.ok(shell.ok && shell.entry.command?.[0] === "sh");
});

test("unknown images and missing host software fail with the image and the fix", () => {
  const catalog = new ImageCatalog(loadCatalogFile(BUILTIN_CATALOG), (path) => !path.includes("mariadb"));
  const unknown = catalog.resolve("example.com/acme/app:1");
  assert.equal(unknown.ok, false);
  assert.match(
    !unknown.ok ? unknown.message : "",
    /"example.com\/acme\/app:1" is not in the hostlet's image catalog/,
  );
  const missing = catalog.resolve("mariadb:10.11");
  assert.equal(missing.ok, false);
  assert.match(!missing.ok ? missing.message : "", /apt-get install mariadb-server/);
});
