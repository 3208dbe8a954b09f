import assert from "node:assert/strict";
import { ECHO_PROTOCOL, type ProtocolSpec } from "./protocols/mod.ts";
import { allFailed, runScenario } from "./runner.ts";
import { scenario } from "./_testing.ts";
import { fakeServer, httpRequests, httpResponse, lines, respCommands } from "./_fake_servers.ts";

function proto(overrides: Partial<ProtocolSpec>): ProtocolSpec {
  return { ...ECHO_PROTOCOL, host: "127.0.0.1", ...overrides };
}

Deno.test("redis: PING replies split at every byte complete, with and without pipelining", async () => {
  const server = fakeServer(respCommands, () => "+PONG\r\n", { byteByByte: true });
  try {
    for (const pipeline of [1, 4]) {
      const result = await runScenario(
        scenario({ connections: 2, protocol: proto({ protocol: "redis", pipeline }) }),
        { target: server.addr },
      );
      assert.ok(result.requests > 20, `pipeline ${pipeline}: ${result.requests}`);
      assert.equal(result.errors.total, 0, JSON.stringify(result.errors));
      assert.equal(result.protocol, "redis");
      assert.equal(result.pipeline, pipeline);
      assert.deepEqual(result.mix, [{ request: "PING", requests: result.requests }]);
    }
  } finally {
    await server.close();
  }
});

Deno.test("redis: error replies are reply_error with the server's message, never successes", async () => {
  const server = fakeServer(respCommands, () => "-ERR unknown command 'PING'\r\n");
  try {
    const result = await runScenario(
      scenario({ connections: 2, protocol: proto({ protocol: "redis" }) }),
      { target: server.addr },
    );
    assert.equal(result.requests, 0);
    assert.ok(result.errors.by_kind["reply_error"]! > 10);
    assert.deepEqual(result.errors.samples?.["reply_error"], ["ERR unknown command 'PING'"]);
    assert.ok(allFailed(result));
  } finally {
    await server.close();
  }
});

Deno.test("redis: --first-send is sent once per connection and its reply checked", async () => {
  const seen: string[] = [];
  const server = fakeServer(respCommands, (cmd, n) => {
    seen.push(cmd);
    if (n === 0) return cmd === "AUTH secret" ? "+OK\r\n" : "-ERR expected AUTH first\r\n";
    return "$3\r\nbar\r\n";
  });
  try {
    const result = await runScenario(
      scenario({
        connections: 1,
        duration_secs: 0.2,
        protocol: proto({ protocol: "redis", first_send: "AUTH secret", commands: ["GET foo"] }),
      }),
      { target: server.addr },
    );
    assert.equal(result.errors.total, 0, JSON.stringify(result.errors));
    assert.equal(seen.filter((c) => c === "AUTH secret").length, 1);
    // Every completed request reached the server; one in flight at the end may not have.
    assert.ok(seen.length >= result.requests + 1, `${seen.length} vs ${result.requests}`);
    assert.ok(seen.length <= result.requests + 1 + (result.unfinished ?? 0) + 1);
  } finally {
    await server.close();
  }
});

Deno.test("raw: a reply failing --expect is unexpected_reply with an escaped sample", async () => {
  const server = fakeServer(lines, (line) => (line.endsWith("3") ? "NO\r\n" : "OK\r\n"));
  try {
    const result = await runScenario(
      scenario({
        connections: 1,
        protocol: proto({ protocol: "raw", send: "req {{seq}}\\n", expect: "exact:OK\\r\\n" }),
      }),
      { target: server.addr },
    );
    assert.ok(result.requests > 10);
    const bad = result.errors.by_kind["unexpected_reply"]!;
    assert.ok(bad >= 1 && bad <= result.requests / 5, `${bad} of ${result.requests}`);
    assert.deepEqual(result.errors.samples?.["unexpected_reply"], ["NO\\r\\n"]);
  } finally {
    await server.close();
  }
});

Deno.test("http: pipelined replies are matched to their requests in order", async () => {
  const server = fakeServer(
    httpRequests,
    (line) => line.startsWith("GET /ok") ? httpResponse(200, "fine") : httpResponse(404, "no"),
  );
  try {
    const result = await runScenario(
      scenario({
        connections: 2,
        protocol: proto({ protocol: "http", pipeline: 8, requests: ["GET /ok", "GET /bad"] }),
      }),
      { target: server.addr },
    );
    assert.ok(result.requests > 20);
    assert.equal(result.mix?.[0]?.requests, result.requests);
    assert.equal(result.mix?.[1]?.requests, 0);
    assert.equal(result.errors.by_kind["http_status"], result.http_codes?.["404"]);
    assert.equal(result.http_codes?.["200"], result.requests);
    assert.ok(Math.abs(result.requests - result.http_codes!["404"]!) <= 16);
    assert.deepEqual(Object.keys(result.http_status!), ["2xx", "4xx"]);
  } finally {
    await server.close();
  }
});

Deno.test("http: a server closing keep-alive connections is followed by reconnects, not errors", async () => {
  const announced = fakeServer(
    httpRequests,
    (_, n) => (n === 2 ? httpResponse(200, "x", ["Connection: close"]) : httpResponse(200, "x")),
  );
  const silent = fakeServer(httpRequests, (_, n) => (n === 2 ? null : httpResponse(200, "x")));
  try {
    for (const server of [announced, silent]) {
      const result = await runScenario(
        scenario({ connections: 2, protocol: proto({ protocol: "http" }) }),
        { target: server.addr },
      );
      assert.equal(result.errors.total, 0, JSON.stringify(result.errors));
      assert.ok(result.reconnects! > 3, `reconnects ${result.reconnects}`);
      assert.ok(result.requests >= result.reconnects! * 2);
    }
  } finally {
    await announced.close();
    await silent.close();
  }
});

Deno.test("redis: open loop holds its rate and churn connects per exchange", async () => {
  const server = fakeServer(respCommands, () => "+PONG\r\n");
  try {
    const open = await runScenario(
      scenario({
        connections: 4,
        rate: 400,
        duration_secs: 0.5,
        protocol: proto({ protocol: "redis" }),
      }),
      { target: server.addr },
    );
    assert.ok(Math.abs(open.rps - 400) <= 40, `rps ${open.rps}`);
    assert.ok(open.uncorrected_latency_us !== undefined);
    const churn = await runScenario(
      scenario({
        mode: "churn",
        connections: 2,
        protocol: proto({ protocol: "redis", pipeline: 3 }),
      }),
      { target: server.addr },
    );
    assert.equal(churn.errors.total, 0);
    assert.ok(churn.requests > 10 && churn.requests % 3 === 0 || churn.requests > 30);
    assert.ok(churn.connect_latency_us!.p50 > 0);
  } finally {
    await server.close();
  }
});
