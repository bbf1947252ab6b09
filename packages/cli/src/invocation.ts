/**
 * How the user ran this CLI, for commands printed to be copied: the
 * repository's launcher sets TESSERA_COMMAND (e.g. `./tessera`); an
 * installed CLI is just `tessera`.
 */
export function tesseraCommand(): string {
  return process.env.TESSERA_COMMAND || "tessera";
}

/**
 * Whether this CLI runs as `kubectl tessera` (the kubectl-tessera launcher
 * sets TESSERA_KUBECTL_PLUGIN): it then chooses its cluster as kubectl does.
 */
export function asKubectlPlugin(): boolean {
  return process.env.TESSERA_KUBECTL_PLUGIN === "1";
}
