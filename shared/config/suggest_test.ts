import assert from "node:assert/strict";
import { nearestName } from "./_suggest.ts";
import { parseFlags } from "./flags.ts";
import { loadConfig } from "./load.ts";
import { ConfigError, EarlyExit } from "./errors.ts";

Deno.test("nearestName() finds typos and prefixes, and suggests nothing far away", () => {
  const known = ["listen", "listen-addr", "target", "metrics-addr", "help"];
  assert.equal(nearestName("listn", known), "listen");
  assert.equal(nearestName("traget", known), "target");
  assert.equal(nearestName("metrics-add", known), "metrics-addr");
  assert.equal(nearestName("warp-drive", known), undefined);
  assert.equal(nearestName("x", known), undefined);
});

Deno.test("parseFlags() accepts --check and --version on every schema", () => {
  const { values } = parseFlags({}, { args: ["--check", "--version"] });
  assert.equal(values["check"], true);
  assert.equal(values["version"], true);
});

Deno.test("loadConfig() answers --version and --check with EarlyExit (any program run by runMain)", () => {
  const schema = { port: { type: "integer", default: 1, description: "a port" } } as const;
  assert.throws(
    () => loadConfig(schema, { args: ["--version"], name: "load-test" }),
    (e) => e instanceof EarlyExit && /^monkey-load-test \d/.test(e.message),
  );
  assert.throws(
    () => loadConfig(schema, { args: ["--check", "--port", "2"] }),
    (e) => e instanceof EarlyExit && e.message === "configuration (defaults and flags) is valid",
  );
  assert.throws(() => loadConfig(schema, { args: ["--check", "--port", "x"] }), ConfigError);
  const loaded = loadConfig(schema, { args: ["--check"], answerCheck: false });
  assert.equal(loaded.check, true);
});
