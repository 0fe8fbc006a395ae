// Installs a missing peer with apt-get when this machine can (Debian/Ubuntu, as root or with
// password-less sudo); otherwise says why not, and the bench runs without that peer.
import { spawnSync } from "node:child_process";
import type { Peer } from "./peer.ts";

function onPath(binary: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${binary}`], { stdio: "ignore" }).status === 0;
}

/** null when the peer's binary is (now) available, else why it is not. */
export function ensureInstalled(peer: Peer, allowInstall: boolean): string | null {
  if (!peer.binary || onPath(peer.binary)) return null;
  if (!allowInstall) return `${peer.binary} is not installed (--no-install)`;
  if (!onPath("apt-get")) return `${peer.binary} is not installed and there is no apt-get`;
  const root = process.getuid?.() === 0;
  const sudo = root ? [] : ["sudo", "-n"];
  if (!root && spawnSync("sudo", ["-n", "true"], { stdio: "ignore" }).status !== 0) return `${peer.binary} is not installed and apt-get needs root`;
  const apt = (args: string[]) => {
    const [cmd, ...rest] = [...sudo, "apt-get", ...args];
    // A service the package itself starts is not ours: the bench starts its own, on its own ports
    // and directories, and never touches the system one.
    const r = spawnSync(cmd, rest, { encoding: "utf8", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
    return r.status === 0 ? null : (r.stderr || r.stdout || "").trim().split("\n").slice(-3).join(" / ");
  };
  console.error(`installing ${peer.aptPackage} with apt-get...`);
  let err = apt(["install", "-y", "-qq", "--no-install-recommends", peer.aptPackage!]);
  if (err) {
    apt(["update", "-qq"]);
    err = apt(["install", "-y", "-qq", "--no-install-recommends", peer.aptPackage!]);
  }
  if (err || !onPath(peer.binary)) return `apt-get install ${peer.aptPackage} failed: ${err ?? `${peer.binary} still not on PATH`}`;
  return null;
}
