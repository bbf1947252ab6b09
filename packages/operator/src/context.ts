import type { EventRecorder, InformerFactory, KubeClient, Logger } from "@tessera/kube";
import type { ActionRunner } from "./actions/runner.js";

/** What every controller of the operator shares. */
export interface OperatorContext {
  client: KubeClient;
  informers: InformerFactory;
  recorder: EventRecorder;
  actions: ActionRunner;
  logger: Logger;
}
