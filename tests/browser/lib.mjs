// Helpers for the browser tests and bench/dashboard: start the real zenwatch binary on
// 127.0.0.1 (port 0 or a given one, read from its log), push JSON events, launch Debian's
// Chromium headless through playwright-core (resolved from web/node_modules).
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { request } from "node:http";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const webDir = join(root, "web");
export const chromiumPath = process.env.ZW_CHROMIUM || "/usr/bin/chromium";

// Why the browser tests cannot run here, or "" when they can.
export function missingPrerequisite() {
  if (!process.env.ZW_BINARY || !existsSync(process.env.ZW_BINARY)) return "ZW_BINARY does not point at the zenwatch binary";
  if (!existsSync(chromiumPath)) return `${chromiumPath} is missing (run scripts/setup, which installs Debian's chromium)`;
  if (!existsSync(join(webDir, "node_modules", "playwright-core"))) return "web/node_modules/playwright-core is missing (run scripts/setup)";
  return "";
}

export function playwright() {
  return createRequire(join(webDir, "package.json"))("playwright-core");
}

export async function launchBrowser() {
  const { chromium } = playwright();
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ["--no-sandbox", "--disable-background-networking", "--disable-dev-shm-usage"],
  });
}

export class Server {
  constructor({ dataDir, binary = process.env.ZW_BINARY, extraArgs = [] } = {}) {
    this.ownsDir = !dataDir;
    this.dataDir = dataDir || mkdtempSync(join(tmpdir(), "zw-browser-"));
    this.binary = binary;
    this.extraArgs = extraArgs;
    this.proc = null;
    this.port = 0;
    this.log = "";
  }

  // Starts on 127.0.0.1:<port> (0: any free port) and resolves once the log says where.
  start(port = 0, timeoutMs = 30000) {
    this.log = "";
    const proc = spawn(this.binary, ["serve", "--listen", `127.0.0.1:${port}`, "--data-dir", this.dataDir, ...this.extraArgs], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.proc = proc;
    // A test or benchmark that dies half-way must not leave the server running.
    process.once("exit", () => {
      if (proc.exitCode === null) proc.kill("SIGKILL");
      if (this.ownsDir) rmSync(this.dataDir, { recursive: true, force: true });
    });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`zenwatch did not start:\n${this.log}`)), timeoutMs);
      const onData = (d) => {
        this.log += d.toString();
        const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(this.log);
        if (m && !this.port) {
          this.port = Number(m[1]);
          clearTimeout(timer);
          resolve(this);
        } else if (m && this.port === Number(m[1])) {
          clearTimeout(timer);
          resolve(this);
        }
      };
      proc.stdout.on("data", onData);
      proc.stderr.on("data", onData);
      proc.on("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`zenwatch exited (status ${code}):\n${this.log}`));
      });
    });
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  // SIGTERM and wait for the exit.
  stop() {
    const proc = this.proc;
    this.proc = null;
    if (!proc || proc.exitCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      proc.removeAllListeners("exit");
      proc.on("exit", () => resolve());
      proc.kill("SIGTERM");
    });
  }

  async cleanup() {
    await this.stop();
    if (this.ownsDir) rmSync(this.dataDir, { recursive: true, force: true });
  }

  push(events) {
    return httpRequest(this.port, "POST", "/api/v1/push", JSON.stringify(events), { "Content-Type": "application/json" });
  }

  async getJson(path) {
    const r = await httpRequest(this.port, "GET", path);
    return { status: r.status, body: JSON.parse(r.body) };
  }
}

export function httpRequest(port, method, path, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, method, path, headers }, (res) => {
      let data = "";
      res.setEncoding("utf8");
      res.on("data", (c) => (data += c));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: data }));
    });
    req.on("error", reject);
    if (body) req.write(body);
    req.end();
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
