// Picks the adapter of the runtime we are on, at start-up.
import type { Platform } from "./platform.ts";

export async function loadPlatform(): Promise<Platform> {
  if ("Deno" in globalThis) return (await import("./deno/mod.ts")).denoPlatform;
  return (await import("./node/mod.ts")).nodePlatform;
}
