// Real Chromium for browser tests: Debian's /usr/bin/chromium driven by playwright-core (on Node
// and on Deno alike), with a fresh profile per launch. Tests call chromiumUnavailable() first and skip with its reason.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";

export const CHROMIUM = "/usr/bin/chromium";

const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

/** Why browser tests cannot run here, or null when they can. */
export function chromiumUnavailable(): string | null {
  if (!existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM} (apt-get install chromium)`;
  return null;
}

/** `extraArgs`: more Chromium switches, e.g. --ignore-certificate-errors-spki-list to trust a test certificate. */
export async function launchChromium(extraArgs: string[] = []) {
  const { chromium } = await import("playwright-core");
  const profile = mkdtempSync(join(tmpdir(), "actormq-chromium-"));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: [...ARGS, ...extraArgs], viewport: { width: 1400, height: 900 } });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** tests/artifacts/ (git-ignored): screenshots for a person to look at. */
export function artifactPath(name: string): string {
  mkdirSync("tests/artifacts", { recursive: true });
  return join("tests/artifacts", name);
}

/**
 * Where a test's screenshot of the console goes: docs/screenshots/ (committed, linked from the
 * README) when UPDATE_SCREENSHOTS=1, tests/artifacts/screenshots/ otherwise, so an ordinary test
 * run leaves the working tree as it was.
 */
export function screenshotPath(name: string): string {
  const dir = process.env.UPDATE_SCREENSHOTS === "1" ? "docs/screenshots" : "tests/artifacts/screenshots";
  mkdirSync(dir, { recursive: true });
  return join(dir, name);
}
