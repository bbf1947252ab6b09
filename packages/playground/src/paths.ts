import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const KUBE_VERSION = "v1.20.2";

/** Where scripts/setup caches builds; shared by every checkout on the machine. */
export function cacheDir(): string {
  return (
    process.env.TESSERA_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "tessera")
  );
}

/** Directory holding kube-apiserver, kube-controller-manager, kube-scheduler and kubectl. */
export function kubeBinDir(): string {
  return process.env.TESSERA_KUBE_BIN_DIR ?? join(cacheDir(), "kube", KUBE_VERSION, "bin");
}

/** The addons shipped in this repository. */
export const BUNDLED_ADDONS = fileURLToPath(new URL("../../../addons/", import.meta.url));

/** The playground's state directory: $TESSERA_HOME/playground, else ~/.tessera/playground. */
export function defaultPlaygroundDir(): string {
  return process.env.TESSERA_HOME
    ? join(process.env.TESSERA_HOME, "playground")
    : join(homedir(), ".tessera", "playground");
}
