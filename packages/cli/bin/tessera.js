#!/usr/bin/env node
// The installed `tessera` command. The CLI is TypeScript run through tsx,
// like every other Tessera process, so register tsx before loading it.
import { register } from "tsx/esm/api";

register();
await import("../src/main.ts");
