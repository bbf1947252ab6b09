import { test } from "node:test";
import assert from "node:assert/strict";
import { runCommand } from "@tessera/base";
import type { ConnectFacts } from "../../src/addons.js";
import { shellQuote } from "@tessera/api";
import { renderInvocation, shellLine, shellLineReadingPassword } from "../../src/connection.js";

const facts: ConnectFacts = {
  service: "rw",
  port: "postgresql",
  account: "postgres",
  command: ["psql", "host={host} port={port} user={username} dbname=postgres"],
  env: { PGPASSWORD: "{password}" },
  url: "postgresql://{username}:{password}@{host}:{port}/postgres",
};
const endpoint = { host: "127.96.0.10", port: 5432 };

test("templates are filled with endpoint and credentials", () => {
  assert.deepEqual(renderInvocation(facts, endpoint, { username: "postgres", password: "s3cret" }), {
    command: ["psql", "host=127.96.0.10 port=5432 user=postgres dbname=postgres"],
    env: { PGPASSWORD: "s3cret" },
    url: "postgresql://postgres:s3cret@127.96.0.10:5432/postgres",
  });
});

test("engines without accounts leave credential placeholders unfilled", () => {
  const plain: ConnectFacts = {
    service: "client",
    port: "client",
    command: ["etcdctl", "--endpoints=http://{host}:{port}"],
  };
  assert.deepEqual(renderInvocation(plain, endpoint).command, [
    "etcdctl",
    "--endpoints=http://127.96.0.10:5432",
  ]);
});

test("shell lines quote only what needs quoting", () => {
  assert.equal(shellQuote("psql"), "psql");
  assert.equal(shellQuote("host=a port=1"), "'host=a port=1'");
  assert.equal(shellQuote("it's"), `'it'\\''s'`);
  assert.equal(
    shellLine({ command: ["psql", "host=a b"], env: { PGPASSWORD: "p w" } }),
    "PGPASSWORD='p w' psql 'host=a b'",
  );
});

test("a line reading the password at run time runs the client with it, in a real shell", async () => {
  const echoing: ConnectFacts = {
    ...facts,
    command: ["printf", "%s|", "{host}:{port}", "user={username} password={password} $HOME `x`"],
    env: { SECRET: "{password}" },
  };
  const line = shellLineReadingPassword(echoing, endpoint, "postgres", "printf '%s' 'pa$$ \"w\"'");
  assert.doesNotMatch(line, /password=pa/, "the password is not in the line");
  const result = await runCommand("bash", ["-c", `${line}; printf '%s' "$SECRET"`]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, `127.96.0.10:5432|user=postgres password=pa$$ "w" $HOME \`x\`|`);
});
