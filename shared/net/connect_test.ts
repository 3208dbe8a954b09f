import assert from "node:assert/strict";
import { ConnectError, connectTcp } from "./connect.ts";
import { resolveEngine } from "./engine.ts";
import { requires, startBlackHole, testEachEngine } from "@monkey/testing";

testEachEngine("connectTcp() connects and names refusals", async ({ engine }) => {
  const options = { engine: resolveEngine(engine) };
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conn = await connectTcp(`127.0.0.1:${listener.addr.port}`, options);
  (await listener.accept()).close();
  conn.close();
  listener.close();
  await assert.rejects(connectTcp(`127.0.0.1:${listener.addr.port}`, options), (error: unknown) => {
    assert.ok(error instanceof ConnectError);
    assert.equal(error.kind, "refused");
    assert.equal(
      error.message,
      `cannot connect to 127.0.0.1:${listener.addr.port}: connection refused`,
    );
    return true;
  });
});

testEachEngine(
  "connectTcp() gives up on a target that never accepts after timeoutMs",
  async ({ engine }) => {
    using hole = await startBlackHole();
    const started = performance.now();
    const attempt = connectTcp(hole.addr, { timeoutMs: 150, engine: resolveEngine(engine) });
    await assert.rejects(attempt, (error: unknown) => {
      assert.ok(error instanceof ConnectError);
      assert.equal(error.kind, "timeout");
      return true;
    });
    const took = performance.now() - started;
    assert.ok(took >= 140 && took < 2000, `took ${took} ms`);
  },
);

testEachEngine("connectTcp() stops when its signal aborts", async ({ engine }) => {
  using hole = await startBlackHole();
  const controller = new AbortController();
  const attempt = connectTcp(hole.addr, {
    timeoutMs: 10_000,
    signal: controller.signal,
    engine: resolveEngine(engine),
  });
  controller.abort();
  await assert.rejects(
    attempt,
    (error: unknown) => error instanceof ConnectError && error.kind === "aborted",
  );
});

testEachEngine(
  "connectTcp() refuses at once on an aborted signal, and a later abort leaves a connection be",
  async ({ engine }) => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const addr = `127.0.0.1:${listener.addr.port}`;
    const aborted = new AbortController();
    aborted.abort();
    const options = { signal: aborted.signal, engine: resolveEngine(engine) };
    await assert.rejects(
      connectTcp(addr, options),
      (error: unknown) => error instanceof ConnectError && error.kind === "aborted",
    );
    // The connect's abort listener and timer are gone once it settled: aborting the signal
    // afterwards does not touch the connection, which still carries bytes.
    const later = new AbortController();
    const conn = await connectTcp(addr, { ...options, signal: later.signal });
    const server = await listener.accept();
    later.abort();
    await conn.write(new Uint8Array([7]));
    const got = new Uint8Array(1);
    assert.equal(await server.read(got), 1);
    assert.equal(got[0], 7);
    conn.close();
    server.close();
    listener.close();
  },
);

testEachEngine(
  "connectTcp() names running out of descriptors 'local', not a failure of the target",
  async ({ engine }) => {
    // A child with a small descriptor table fills it, then connects to a live listener (the
    // engine is resolved first: loading libc for FFI needs a descriptor too).
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const script = `
      import { connectTcp } from "${new URL("./connect.ts", import.meta.url).href}";
      import { resolveEngine } from "${new URL("./engine.ts", import.meta.url).href}";
      const engine = resolveEngine("${engine}");
      const held = [];
      try { for (;;) held.push(Deno.listen({ hostname: "127.0.0.1", port: 0 })); } catch { /* full */ }
      try { await connectTcp("127.0.0.1:${listener.addr.port}", { engine }); console.log("connected"); }
      catch (error) { console.log(error.kind, error.message); }
    `;
    const out = await new Deno.Command("bash", {
      args: ["-c", `ulimit -n 64 && exec "$0" eval "$1"`, Deno.execPath(), script],
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    listener.close();
    const text = new TextDecoder().decode(out.stdout).trim();
    assert.match(text, /^local cannot connect to 127\.0\.0\.1:\d+: Too many open files/, text);
  },
  requires("run", "read", "env"),
);

/** Run `fn` with `Deno.connect` replaced by one that throws `error`. */
async function withFailingConnect(error: Error, fn: () => Promise<void>): Promise<void> {
  const original = Deno.connect;
  (Deno as { connect: unknown }).connect = () => Promise.reject(error);
  try {
    await fn();
  } finally {
    (Deno as { connect: unknown }).connect = original;
  }
}

function osError(message: string, code?: string): Error {
  const error = new Error(message);
  if (code !== undefined) Object.assign(error, { code });
  return error;
}

Deno.test("connectTcp() names the failure kind by errno code, whatever the message says", async () => {
  const cases = [
    [osError("Demasiados archivos abiertos", "EMFILE"), "local"],
    [osError("Kein Pufferspeicher", "ENOBUFS"), "local"],
    [osError("Adresse nicht verfügbar", "EADDRNOTAVAIL"), "local"],
    [osError("Netz nicht erreichbar", "EHOSTUNREACH"), "unreachable"],
    // A code that is not local wins over text that looks local.
    [osError("Too many open files (os error 24)", "EIO"), "error"],
    // No code: the text is the fallback.
    [osError("Too many open files (os error 24)"), "local"],
    [osError("No route to host"), "unreachable"],
  ] as const;
  for (const [error, kind] of cases) {
    await withFailingConnect(error, async () => {
      await assert.rejects(connectTcp("127.0.0.1:9"), (caught: unknown) => {
        assert.ok(caught instanceof ConnectError);
        assert.equal(caught.kind, kind, `${error.message} (${(error as { code?: string }).code})`);
        assert.equal(caught.message, `cannot connect to 127.0.0.1:9: ${error.message}`);
        return true;
      });
    });
  }
});
