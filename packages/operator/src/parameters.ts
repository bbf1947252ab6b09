import type { ComponentDefinition, ParameterSchema } from "@tessera/api";
import { quotedList } from "./definitions.js";

// Engine parameters as a ComponentDefinition declares them in its configs:
// which exist, which values each takes, and which apply without a restart.

/** Every parameter the definition's configs declare. */
export function parameterSchemas(compDef: ComponentDefinition): ParameterSchema[] {
  return (compDef.spec.configs ?? []).flatMap((c) => c.parameters ?? []);
}

/**
 * Parameters declared dynamic can be applied without a restart, provided the
 * definition has a reconfigure action; all others are static and roll the
 * instances.
 */
export function splitParameters(compDef: ComponentDefinition, parameters: Record<string, string> = {}) {
  const canReconfigure = Boolean(compDef.spec.lifecycleActions?.reconfigure);
  const dynamicNames = new Set(
    canReconfigure ? parameterSchemas(compDef).flatMap((p) => (p.dynamic ? [p.name] : [])) : [],
  );
  const dynamic: Record<string, string> = {};
  const fixed: Record<string, string> = {};
  for (const [key, value] of Object.entries(parameters))
    (dynamicNames.has(key) ? dynamic : fixed)[key] = value;
  return { dynamic, static: fixed };
}

const INTEGER = /^[-+]?\d+$/;
const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
const BOOLEAN = new Set(["true", "false", "on", "off", "yes", "no", "1", "0"]);
const QUANTITY = /^([-+]?\d+)\s*([A-Za-z]*)$/;

/** A quantity in base units, or undefined when it is not a quantity of the schema. */
function baseUnits(schema: ParameterSchema, value: string): number | undefined {
  const match = QUANTITY.exec(value.trim());
  if (!match) return undefined;
  const unit = match[2] ? schema.units?.[match[2]] : (schema.unit ?? 1);
  return unit === undefined ? undefined : Number(match[1]) * unit;
}

/** A value (or bound) as a number the bounds compare, or undefined when it is not of the schema's type. */
function magnitude(schema: ParameterSchema, value: string): number | undefined {
  if (schema.type === "quantity") return baseUnits(schema, value);
  const pattern = schema.type === "integer" ? INTEGER : NUMBER;
  return pattern.test(value.trim()) ? Number(value) : undefined;
}

function expected(schema: ParameterSchema): string {
  switch (schema.type) {
    case "integer":
      return "an integer";
    case "number":
      return "a number";
    case "quantity": {
      const units = Object.keys(schema.units ?? {});
      return `an integer${units.length ? ` with an optional unit (${units.join(", ")})` : ""}`;
    }
    default:
      return `a ${schema.type}`;
  }
}

function rangeError(schema: ParameterSchema, value: string): string | undefined {
  const actual = magnitude(schema, value);
  if (actual === undefined) return `"${value}" is not ${expected(schema)}`;
  const { minimum, maximum } = schema;
  const below = minimum !== undefined && actual < (magnitude(schema, String(minimum)) ?? -Infinity);
  const above = maximum !== undefined && actual > (magnitude(schema, String(maximum)) ?? Infinity);
  if (!below && !above) return undefined;
  const range = [minimum ?? "", maximum ?? ""].join("..");
  return `${value} is outside ${range}`;
}

/** Why a value does not fit the parameter's schema, or undefined when it does. */
export function valueError(schema: ParameterSchema, value: string): string | undefined {
  switch (schema.type) {
    case "integer":
    case "number":
    case "quantity":
      return rangeError(schema, value);
    case "boolean":
      return BOOLEAN.has(value.trim().toLowerCase())
        ? undefined
        : `"${value}" is not a boolean (true/false, on/off, yes/no, 1/0)`;
    case "enum":
      return schema.values?.includes(value)
        ? undefined
        : `"${value}" is not one of ${quotedList(schema.values ?? [])}`;
    case "string": {
      if (schema.pattern === undefined) return undefined;
      let pattern: RegExp;
      try {
        pattern = new RegExp(`^(?:${schema.pattern})$`);
      } catch {
        return `the definition's pattern ${JSON.stringify(schema.pattern)} is not a valid regular expression`;
      }
      return pattern.test(value) ? undefined : `"${value}" does not match ${schema.pattern}`;
    }
  }
}

/**
 * Parameters a definition does not declare, or values outside their schema,
 * each naming its field (`<path>.<name>`) and what is allowed. A definition
 * that declares no parameters takes any.
 */
export function parameterErrors(
  compDef: ComponentDefinition,
  parameters: Record<string, string> | undefined,
  path: string,
): string[] {
  const schemas = new Map(parameterSchemas(compDef).map((p) => [p.name, p]));
  if (schemas.size === 0) return [];
  return Object.entries(parameters ?? {}).flatMap(([name, value]) => {
    const schema = schemas.get(name);
    if (!schema)
      return [
        `${path}.${name}: ComponentDefinition "${compDef.metadata.name}" has no parameter "${name}"; parameters: ${quotedList([...schemas.keys()].sort())}`,
      ];
    const error = valueError(schema, value);
    return error ? [`${path}.${name}: ${error} (${schema.description})`] : [];
  });
}
