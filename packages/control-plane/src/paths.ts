import { homedir } from "node:os";
import { join } from "node:path";

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
