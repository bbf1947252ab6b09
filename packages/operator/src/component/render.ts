import { Liquid } from "liquidjs";
import type { ResourceRequirements } from "@tessera/api";
import { milliQuantity, parseQuantity } from "@tessera/base";

/**
 * Config templates are Liquid: a safe, logic-light language (no code
 * execution) with the arithmetic filters sizing needs, e.g.
 * `shared_buffers = {{ resources.memoryBytes | divided_by: 4 | floor }}`.
 */
const engine = new Liquid({ strictFilters: true, strictVariables: false, ownPropertyOnly: true });

export interface TemplateContext {
  vars: Record<string, string>;
  parameters: Record<string, string>;
  resources: { cpuMillis?: number; memoryBytes?: number };
  component: { name: string; shortName: string; replicas: number };
  cluster: string;
}

/** CPU and memory of the main container: limits, falling back to requests. */
export function resourceFacts(resources: ResourceRequirements | undefined): TemplateContext["resources"] {
  const pick = (key: string) => resources?.limits?.[key] ?? resources?.requests?.[key];
  const cpu = pick("cpu");
  const memory = parseQuantity(pick("memory"));
  return {
    ...(cpu !== undefined ? { cpuMillis: milliQuantity(cpu) } : {}),
    ...(memory !== undefined ? { memoryBytes: Math.round(memory) } : {}),
  };
}

export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TemplateError";
  }
}

/** Renders every file of a template ConfigMap. */
export async function renderFiles(
  files: Record<string, string>,
  context: TemplateContext,
  source: string,
): Promise<Record<string, string>> {
  const rendered: Record<string, string> = {};
  for (const [file, text] of Object.entries(files)) {
    try {
      rendered[file] = await engine.parseAndRender(text, context as unknown as Record<string, unknown>);
    } catch (error) {
      throw new TemplateError(`template ${source}/${file}: ${(error as Error).message}`);
    }
  }
  return rendered;
}
