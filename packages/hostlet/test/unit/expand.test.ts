import { test } from "node:test";
import assert from "node:assert/strict";
import { expandVariables } from "../../src/pods/expand.js";

const vars: Record<string, string> = { A: "alpha", B: "beta", EMPTY: "" };
const expand = (text: string) => expandVariables(text, (name) => vars[name]);

test("$(VAR) expands defined variables and keeps undefined ones as written", () => {
  assert.equal(expand("$(A)-$(B)"), "alpha-beta");
  assert.equal(expand("x$(EMPTY)y"), "xy");
  assert.equal(expand("$(MISSING)"), "$(MISSING)");
});

test("$$ escapes, other dollars and unterminated references stay literal", () => {
  assert.equal(expand("$$(A)"), "$(A)");
  assert.equal(expand("cost $5 $"), "cost $5 $");
  assert.equal(expand("$(A"), "$(A");
  assert.equal(expand("$$$$"), "$$");
});
