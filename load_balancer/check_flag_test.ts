import assert from "node:assert/strict";
import { requires } from "@monkey/testing";

const MAIN = new URL("./main.ts", import.meta.url).pathname;
const CONFIG = new URL("./lb.toml", import.meta.url).pathname;

async function lb(args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "--allow-read", MAIN, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

Deno.test(
  "lb --check validates lb.toml and exits 0 without binding",
  requires("run", "read"),
  async () => {
    // Its listen port taken: --check must not try to bind it.
    using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const listen = `127.0.0.1:${(taken.addr as Deno.NetAddr).port}`;
    const out = await lb(["--config", CONFIG, "--listen", listen, "--check"]);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /lb: configuration .*lb\.toml is valid/);
  },
);

Deno.test(
  "lb --check exits 2 on a cross-key error (duplicate backend)",
  requires("run", "read"),
  async () => {
    const out = await lb(["--backend", "127.0.0.1:8081", "--backend", "127.0.0.1:8081", "--check"]);
    assert.equal(out.code, 2);
    assert.match(out.stderr, /127\.0\.0\.1:8081/);
    assert.equal(out.stdout, "");
  },
);

Deno.test(
  "lb --version prints monkey-lb and the version, exit 0",
  requires("run", "read"),
  async () => {
    const out = await lb(["--version"]);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /^monkey-lb \d+\.\d+\.\d+ \(deno /);
  },
);
