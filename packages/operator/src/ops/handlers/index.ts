import type { OpsType } from "@tessera/api";
import type { OpsHandler } from "../handler.js";
import { backup, restore } from "./backup-restore.js";
import { custom } from "./custom.js";
import { expose } from "./expose.js";
import { horizontalScaling } from "./horizontal-scaling.js";
import { rebuildInstance } from "./rebuild-instance.js";
import { reconfiguring } from "./reconfiguring.js";
import { restart } from "./restart.js";
import { start, stop } from "./stop-start.js";
import { switchover } from "./switchover.js";
import { upgrade } from "./upgrade.js";
import { verticalScaling } from "./vertical-scaling.js";
import { volumeExpansion } from "./volume-expansion.js";

/** The handler of every operation type. */
export const handlers: Record<OpsType, OpsHandler> = {
  Restart: restart,
  Stop: stop,
  Start: start,
  HorizontalScaling: horizontalScaling,
  VerticalScaling: verticalScaling,
  Switchover: switchover,
  Custom: custom,
  Upgrade: upgrade,
  RebuildInstance: rebuildInstance,
  VolumeExpansion: volumeExpansion,
  Expose: expose,
  Reconfiguring: reconfiguring,
  Backup: backup,
  Restore: restore,
};
