import assert from "node:assert/strict";
import { ConnectError, connectTcp } from "./connect.ts";
import { startBlackHole } from "./testing.ts";

Deno.test("connectTcp() connects and names refusals", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conn = await connectTcp(`127.0.0.1:${listener.addr.port}`);
  (await listener.accept()).close();
  conn.close();
  listener.close();
  await assert.rejects(connectTcp(`127.0.0.1:${listener.addr.port}`), (error: unknown) => {
    assert.ok(error instanceof ConnectError);
    assert.equal(error.kind, "refused");
    assert.equal(
      error.message,
      `cannot connect to 127.0.0.1:${listener.addr.port}: connection refused`,
    );
    return true;
  });
});

Deno.test("connectTcp() gives up on a target that never accepts after timeoutMs", async () => {
  using hole = await startBlackHole();
  const started = performance.now();
  await assert.rejects(connectTcp(hole.addr, { timeoutMs: 150 }), (error: unknown) => {
    assert.ok(error instanceof ConnectError);
    assert.equal(error.kind, "timeout");
    return true;
  });
  const took = performance.now() - started;
  assert.ok(took >= 140 && took < 2000, `took ${took} ms`);
});

Deno.test("connectTcp() stops when its signal aborts", async () => {
  using hole = await startBlackHole();
  const controller = new AbortController();
  const attempt = connectTcp(hole.addr, { timeoutMs: 10_000, signal: controller.signal });
  controller.abort();
  await assert.rejects(
    attempt,
    (error: unknown) => error instanceof ConnectError && error.kind === "aborted",
  );
});
