import assert from "node:assert/strict";
import {
  assertClosedWithoutData,
  dial,
  type EngineName,
  readAll,
  readOutcome,
  testEachEngine,
  writeAll,
} from "@monkey/testing";
import { Counter } from "../metrics/registry.ts";
import { ServiceError } from "../service/errors.ts";
import { Logger, memorySink, ThrottledLog } from "../service/logger.ts";
import { resolveEngine } from "./engine.ts";
import { ClientGate } from "./client_gate.ts";
import { type FrontendOptions, startFrontend, startGatedFrontend } from "./frontend.ts";

function options(engine: EngineName, overrides: Partial<FrontendOptions> = {}) {
  const { sink, lines } = memorySink();
  const logger = new Logger({ name: "test", sink });
  const denied = new Counter();
  const rejected = new Counter();
  const opts: FrontendOptions = {
    listen: "127.0.0.1:0",
    handler: async (conn) => {
      await readOutcome(conn);
      conn.close();
    },
    maxConnections: 0,
    admits: () => true,
    denied,
    rejected,
    throttled: new ThrottledLog(logger, 60_000),
    logger,
    engine: resolveEngine(engine),
    ...overrides,
  };
  return { opts, lines, denied, rejected };
}

testEachEngine(
  "startFrontend() closes and counts clients refused by allow/deny, logging once",
  async ({ engine }) => {
    const { opts, lines, denied } = options(engine, { admits: (ip) => ip !== "127.0.0.1" });
    const server = startFrontend(opts);
    for (let i = 0; i < 3; i++) await assertClosedWithoutData(server.addr);
    // The listener closes a refused client right after counting it: its EOF comes after the count.
    assert.equal(denied.value, 3);
    assert.equal(lines.length, 1, "throttled to one line");
    assert.match(lines[0]!, /WARN {2}test: client 127\.0\.0\.1 refused by allow\/deny rules$/);
    await server.shutdown(0);
  },
);

testEachEngine(
  "startFrontend() closes and counts clients over max_connections",
  async ({ engine }) => {
    const { opts, lines, rejected } = options(engine, { maxConnections: 1 });
    const server = startFrontend(opts);
    const first = await dial(server.addr);
    const second = await dial(server.addr);
    assert.notEqual(await readOutcome(second), "data");
    second.close();
    assert.equal(rejected.value, 1);
    assert.equal(server.active, 1);
    assert.match(lines[0]!, /max_connections \(1\) reached; closing new clients$/);
    first.close();
    await server.shutdown(1000);
  },
);

testEachEngine("startFrontend() turns a bind error into a one-line ServiceError", ({ engine }) => {
  using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const addr = `127.0.0.1:${taken.addr.port}`;
  const { opts } = options(engine, { listen: addr });
  assert.throws(() => startFrontend(opts), (error: unknown) => {
    assert.ok(error instanceof ServiceError);
    assert.equal(error.message, `Cannot listen on ${addr} (listen_addr): address already in use`);
    assert.ok(!error.message.includes("\n"));
    return true;
  });
});

testEachEngine(
  "startGatedFrontend() asks the gate in force for each client: a swapped gate applies at once",
  async ({ engine }) => {
    const { opts, denied } = options(engine);
    const gateCounters = {
      denied: new Counter(),
      rateLimited: new Counter(),
      proxyErrors: new Counter(),
      proxyRejected: new Counter(),
    };
    const gateOf = (admits: boolean) =>
      new ClientGate({ admits: () => admits, counters: gateCounters, throttled: opts.throttled });
    let gate = gateOf(true);
    const served: string[] = [];
    const server = startGatedFrontend({ listen_addr: "127.0.0.1:0", max_connections: 0 }, {
      gate: () => gate,
      handler: async (conn, _force, client) => {
        served.push(client.ip);
        await writeAll(conn, new TextEncoder().encode(`hello ${client.ip}`));
        conn.close();
      },
      counters: { denied, rejected: new Counter() },
      engine: resolveEngine(engine),
      throttled: opts.throttled,
      logger: opts.logger,
    });
    // Admitted by the first gate: the handler gets the client's address and the connection.
    const conn = await dial(server.addr);
    assert.equal(new TextDecoder().decode(await readAll(conn)), "hello 127.0.0.1");
    conn.close();
    gate = gateOf(false); // a reload built a stricter one
    await assertClosedWithoutData(server.addr);
    assert.deepEqual(served, ["127.0.0.1"]);
    assert.equal(denied.value, 1);
    await server.shutdown(0);
  },
);
