import { test } from "node:test";
import assert from "node:assert/strict";
import type { ParameterSchema } from "@tessera/api";
import { parameterErrors, splitParameters, valueError } from "../../src/parameters.js";
import { compDef } from "../fixtures/definitions.js";

const MEMORY = { kB: 1024, MB: 1048576, GB: 1073741824 };

function definition(parameters: ParameterSchema[], reconfigure = true) {
  return compDef("kv-1", {
    configs: [{ name: "config", template: "t", namespace: "ns", volumeName: "config", parameters }],
    ...(reconfigure
      ? { lifecycleActions: { reconfigure: { exec: { command: ["true"] }, timeoutSeconds: 5 } } }
      : {}),
  });
}

test("each type of parameter takes the values of its schema and refuses others", () => {
  const workMem: ParameterSchema = {
    name: "work_mem",
    type: "quantity",
    description: "d",
    units: MEMORY,
    unit: 1024,
    minimum: "64kB",
    maximum: "1GB",
  };
  assert.equal(valueError(workMem, "64MB"), undefined);
  assert.equal(valueError(workMem, "4096"), undefined, "a bare number is in the parameter's unit (kB)");
  assert.equal(valueError(workMem, "32kB"), "32kB is outside 64kB..1GB");
  assert.equal(valueError(workMem, "2GB"), "2GB is outside 64kB..1GB");
  assert.match(valueError(workMem, "64Mi")!, /is not an integer with an optional unit \(kB, MB, GB\)/);

  const connections: ParameterSchema = {
    name: "c",
    type: "integer",
    description: "d",
    minimum: 1,
    maximum: 100,
  };
  assert.equal(valueError(connections, "100"), undefined);
  assert.equal(valueError(connections, "101"), "101 is outside 1..100");
  assert.equal(valueError(connections, "1.5"), '"1.5" is not an integer');

  const cost: ParameterSchema = { name: "c", type: "number", description: "d", minimum: 0 };
  assert.equal(valueError(cost, "1.1"), undefined);
  assert.equal(valueError(cost, "-1"), "-1 is outside 0..");

  const flag: ParameterSchema = { name: "f", type: "boolean", description: "d" };
  for (const value of ["on", "off", "yes", "No", "true", "0"])
    assert.equal(valueError(flag, value), undefined);
  assert.match(valueError(flag, "maybe")!, /is not a boolean/);

  const policy: ParameterSchema = { name: "p", type: "enum", description: "d", values: ["a", "b"] };
  assert.equal(valueError(policy, "a"), undefined);
  assert.equal(valueError(policy, "c"), '"c" is not one of "a", "b"');

  const save: ParameterSchema = { name: "s", type: "string", description: "d", pattern: "(\\d+ \\d+)*" };
  assert.equal(valueError(save, "3600 1"), undefined);
  assert.equal(valueError(save, ""), undefined);
  assert.equal(valueError(save, "3600"), '"3600" does not match (\\d+ \\d+)*', "the whole value must match");
});

test("a definition with parameters refuses the others, naming the field; one without takes any", () => {
  const declared = definition([{ name: "greeting", type: "string", description: "what it says" }]);
  assert.deepEqual(parameterErrors(declared, { greeting: "hi" }, "spec.p"), []);
  assert.deepEqual(parameterErrors(declared, { colour: "blue" }, "spec.p"), [
    'spec.p.colour: ComponentDefinition "kv-1" has no parameter "colour"; parameters: "greeting"',
  ]);
  assert.deepEqual(parameterErrors(definition([]), { colour: "blue" }, "spec.p"), []);
});

test("dynamic parameters are those declared dynamic, when the definition can reconfigure", () => {
  const schemas: ParameterSchema[] = [
    { name: "live", type: "string", description: "d", dynamic: true },
    { name: "fixed", type: "string", description: "d" },
  ];
  assert.deepEqual(splitParameters(definition(schemas), { live: "1", fixed: "2", other: "3" }), {
    dynamic: { live: "1" },
    static: { fixed: "2", other: "3" },
  });
  assert.deepEqual(splitParameters(definition(schemas, false), { live: "1" }), {
    dynamic: {},
    static: { live: "1" },
  });
});
