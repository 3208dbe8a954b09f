import assert from "node:assert/strict";
import { ConnectError } from "@monkey/shared";
import { addErrorCounts, classifyError, emptyErrorCounts, totalErrors } from "./errors.ts";

Deno.test("classifyError() names connect, reset, timeout and other failures", () => {
  assert.equal(classifyError(new ConnectError("a:1", "refused", "x")), "connect_refused");
  assert.equal(classifyError(new ConnectError("a:1", "timeout", "x")), "connect_timeout");
  assert.equal(classifyError(new ConnectError("a:1", "unreachable", "x")), "connect_other");
  assert.equal(classifyError(new ConnectError("a:1", "local", "x")), "connect_local");
  assert.equal(classifyError(new Deno.errors.ConnectionReset("x")), "reset");
  assert.equal(classifyError(new Deno.errors.BrokenPipe("x")), "reset");
  assert.equal(classifyError(new Deno.errors.TimedOut("x")), "timeout");
  assert.equal(classifyError(new Error("x")), "other");
});

Deno.test("error counts add up", () => {
  const a = emptyErrorCounts();
  a.mismatch = 2;
  const into: Record<string, number> = { reset: 1 };
  addErrorCounts(into, a);
  assert.equal(into["mismatch"], 2);
  assert.equal(totalErrors(into), 3);
});
