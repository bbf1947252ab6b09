import { test } from "node:test";
import assert from "node:assert/strict";
import {
  NON_NEGATIVE_QUANTITY_PATTERN,
  QUANTITY_PATTERN,
  QuantityError,
  isQuantity,
  milliQuantity,
  parseQuantity,
  scaledQuantity,
} from "../../src/quantity.js";

const GiB = 2 ** 30;

/** Text → value in base units, for everything Kubernetes accepts. */
const valid: [string | number, number][] = [
  ["0", 0],
  ["1", 1],
  ["+1", 1],
  ["-1", -1],
  ["007", 7],
  ["1.5", 1.5],
  [".5", 0.5],
  ["5.", 5],
  ["500m", 0.5],
  ["100n", 1e-7],
  ["3u", 3e-6],
  ["2k", 2000],
  ["1M", 1e6],
  ["1G", 1e9],
  ["1T", 1e12],
  ["1P", 1e15],
  ["1E", 1e18],
  ["1Ki", 1024],
  ["128Mi", 128 * 2 ** 20],
  ["1.5Gi", 1.5 * GiB],
  ["10Ti", 10 * 2 ** 40],
  ["1Pi", 2 ** 50],
  ["1Ei", 2 ** 60],
  ["1e3", 1000],
  ["1E3", 1000],
  ["1e+3", 1000],
  ["15e-1", 1.5],
  ["-.5Gi", -0.5 * GiB],
  [1024, 1024],
  [0.25, 0.25],
];

/** Text Kubernetes refuses (or, for the last ones, a form its CRD pattern refuses). */
const invalid: unknown[] = [
  "1.2.3Gi",
  "10XB",
  "1GB",
  "1K",
  "1gi",
  "1 Gi",
  " 1",
  "1Gi ",
  "",
  "Gi",
  ".",
  "+",
  "-",
  "1e",
  "1e1.5",
  "1e3Gi",
  "1Gie3",
  "0x10",
  "1,5",
  "++1",
  "1..5",
  Number.NaN,
  Number.POSITIVE_INFINITY,
  undefined,
  null,
  {},
];

test("every quantity Kubernetes accepts parses to its value in base units", () => {
  for (const [text, value] of valid) {
    assert.ok(isQuantity(text), `${text} is a quantity`);
    assert.equal(parseQuantity(text), value, `${text}`);
    assert.match(String(text), new RegExp(QUANTITY_PATTERN), `${text} matches the pattern`);
  }
});

test("anything else is refused by the check, the parser and the pattern", () => {
  for (const text of invalid) {
    assert.equal(isQuantity(text), false, `${String(text)} is not a quantity`);
    if (typeof text === "string") {
      assert.throws(() => parseQuantity(text), QuantityError, text);
      assert.doesNotMatch(text, new RegExp(QUANTITY_PATTERN), text);
    }
  }
});

test("the non-negative pattern refuses a minus sign and accepts everything else the signed one does", () => {
  const pattern = new RegExp(NON_NEGATIVE_QUANTITY_PATTERN);
  for (const [text, value] of valid) {
    assert.equal(pattern.test(String(text)), value >= 0 && !String(text).startsWith("-"), String(text));
  }
});

test("an absent value stays absent", () => {
  assert.equal(parseQuantity(undefined), undefined);
});

test("milli-units are exact and rounded up away from zero, as Kubernetes' MilliValue", () => {
  assert.equal(milliQuantity("0.1"), 100);
  assert.equal(milliQuantity("100m"), 100);
  assert.equal(milliQuantity("1.5"), 1500);
  assert.equal(milliQuantity(2), 2000);
  assert.equal(milliQuantity("0.1m"), 1);
  assert.equal(milliQuantity("1n"), 1);
  assert.equal(milliQuantity("0"), 0);
  assert.equal(milliQuantity("-1.0005"), -1001);
  assert.equal(milliQuantity("1Ki"), 1_024_000);
  assert.equal(milliQuantity("1.0000000000000000001"), 1001, "no rounding through a double");
  assert.equal(milliQuantity("1e-999999999"), 1, "a vanishing value still rounds up, without huge powers");
  assert.equal(milliQuantity("1e999999999"), Infinity);
});

test("scaled values follow Kubernetes' ScaledValue", () => {
  assert.equal(scaledQuantity("1Gi", -6), 1074, "1Gi in M, rounded up");
  assert.equal(scaledQuantity("1500m", 0), 2);
  assert.throws(() => scaledQuantity("1.2.3", 0), QuantityError);
});
