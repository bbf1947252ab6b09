import { API_VERSION, type OpsRequest, type OpsRequestSpec } from "@tessera/api";
import { body, FormError, optionalInteger, optionalText, text } from "./forms.js";

/** The operations the cluster page starts. */
export const OPERATION_TYPES = ["Restart", "Switchover", "HorizontalScaling", "Backup"] as const;
export type OperationType = (typeof OPERATION_TYPES)[number];

/** The word in generated names, as `tessera cluster` names its OpsRequests. */
const WORDS: Record<OperationType, string> = {
  Restart: "restart",
  Switchover: "switchover",
  HorizontalScaling: "hscale",
  Backup: "backup",
};

/**
 * An OpsRequest for `cluster` from the cluster page's form: type, and the
 * component with its new replicas (HorizontalScaling) or candidate
 * (Switchover). The name is generated; the operator and webhook judge the rest.
 */
export function operationFromForm(namespace: string, cluster: string, input: unknown): OpsRequest {
  const form = body(input);
  const type = text(form, "type", "spec.type") as OperationType;
  if (!OPERATION_TYPES.includes(type))
    throw new FormError("spec.type", `one of ${OPERATION_TYPES.join(", ")}`);
  const component = optionalText(form, "component", "componentName");
  const spec: OpsRequestSpec = { clusterName: cluster, type } as OpsRequestSpec;
  if (type === "Restart" && component) spec.restart = [{ componentName: component }];
  if (type === "Switchover") {
    const candidateName = optionalText(form, "candidate", "spec.switchover[0].candidateName");
    spec.switchover = [
      {
        componentName: text(form, "component", "spec.switchover[0].componentName"),
        ...(candidateName ? { candidateName } : {}),
      },
    ];
  }
  if (type === "HorizontalScaling") {
    const replicas = optionalInteger(form, "replicas", "spec.horizontalScaling[0].replicas");
    if (replicas === undefined) throw new FormError("spec.horizontalScaling[0].replicas", "required");
    spec.horizontalScaling = [
      { componentName: text(form, "component", "spec.horizontalScaling[0].componentName"), replicas },
    ];
  }
  if (type === "Backup") spec.backup = {};
  return {
    apiVersion: API_VERSION,
    kind: "OpsRequest",
    metadata: { namespace, generateName: `${cluster}-${WORDS[type]}-` },
    spec,
  } as OpsRequest;
}
