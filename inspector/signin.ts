// Signing in to a broker with --auth on (docs/SECURITY.md): when a broker answers AUTH_REQUIRED
// or AUTH_FAILED, the console asks for an access key and secret key, and the SDK's Transport
// signs in with them (HMAC-SHA256 of the broker's nonce, Web Crypto: the page must be https://,
// or on localhost). They are kept for this tab only (sessionStorage), for the broker's own
// socket and the cluster view's sockets to each broker. A read-only console needs SUB on
// Cluster; its actions need ADMIN.
import type { Credentials } from "../protocol/mod.ts";

const KEY = "actormq-credentials";

/** Whether a request failed for want of (valid) credentials. */
export function needsSignIn(e: unknown): boolean {
  const code = (e as { code?: unknown })?.code;
  return code === "AUTH_REQUIRED" || code === "AUTH_FAILED";
}

export function storedCredentials(): Credentials | undefined {
  try {
    const c = JSON.parse(sessionStorage.getItem(KEY) ?? "null") as Credentials | null;
    return c && typeof c.accessKey === "string" && typeof c.secretKey === "string" ? c : undefined;
  } catch {
    return undefined;
  }
}

let asking: Promise<Credentials> | null = null;

/** Shows the sign-in form (once, however many sockets ask); resolves with what was entered. */
export function askCredentials(reason: string): Promise<Credentials> {
  asking ??= new Promise<Credentials>((resolve) => {
    const dialog = document.createElement("dialog");
    dialog.id = "signin";
    dialog.innerHTML = `<form method="dialog">
      <h2>Sign in</h2>
      <p class="signin-reason"></p>
      <label>Access key <input id="signin-access-key" name="accessKey" autocomplete="username" required></label>
      <label>Secret key <input id="signin-secret-key" name="secretKey" type="password" autocomplete="current-password" required></label>
      <button type="submit">Sign in</button>
    </form>`;
    dialog.querySelector(".signin-reason")!.textContent = reason;
    document.body.append(dialog);
    dialog.querySelector("form")!.addEventListener("submit", () => {
      const accessKey = (dialog.querySelector("#signin-access-key") as HTMLInputElement).value.trim();
      const secretKey = (dialog.querySelector("#signin-secret-key") as HTMLInputElement).value;
      sessionStorage.setItem(KEY, JSON.stringify({ accessKey, secretKey }));
      dialog.remove();
      asking = null;
      resolve({ accessKey, secretKey });
    });
    dialog.addEventListener("cancel", (e) => e.preventDefault()); // nothing to show without it
    dialog.showModal();
  });
  return asking;
}
