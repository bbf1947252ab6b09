/**
 * How the user ran this CLI, for commands printed to be copied: the
 * repository's launcher sets TESSERA_COMMAND (e.g. `./tessera`); an
 * installed CLI is just `tessera`.
 */
export function tesseraCommand(): string {
  return process.env.TESSERA_COMMAND || "tessera";
}
