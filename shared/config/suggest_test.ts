import assert from "node:assert/strict";
import { nearestName } from "./_suggest.ts";
import { parseFlags } from "./flags.ts";

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
