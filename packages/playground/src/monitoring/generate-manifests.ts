// Writes the Prometheus Operator manifests for the bundled addons into deploy/monitoring/.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { BUNDLED_ADDONS, findAddons } from "@tessera/addons";
import { MONITORING_MANIFESTS_DIR, monitoringManifests } from "./manifests.js";

const files = monitoringManifests(findAddons(BUNDLED_ADDONS));
for (const [name, content] of Object.entries(files))
  writeFileSync(join(MONITORING_MANIFESTS_DIR, name), content);
console.log(`wrote ${Object.keys(files).length} files to ${MONITORING_MANIFESTS_DIR}`);
