#!/usr/bin/env node
// `kubectl tessera …`: kubectl runs an executable named kubectl-tessera found
// on PATH with the arguments after `tessera` and its own environment. It is
// the tessera CLI, choosing its cluster the way kubectl does.
process.env.TESSERA_KUBECTL_PLUGIN = "1";
process.env.TESSERA_COMMAND ||= "kubectl tessera";
await import("./tessera.js");
