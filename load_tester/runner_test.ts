import { acceptLoop, closedPortAddr, requires, testEachEngine, writeAll } from "@monkey/testing";
import assert from "node:assert/strict";
import { ConnectError } from "@monkey/shared";
import type { Scenario } from "./config.ts";
import { resultHistogram, type ScenarioResult } from "./result.ts";
import { allFailed, runMatrix, type RunOptions, runScenario } from "./runner.ts";
import { customServer, echoServer, scenario, type TestServer } from "./_testing.ts";

const NEEDS = requires("read");

/** Run one scenario against the project's echo server (started and closed here). */
async function runOnEcho(
  s: Scenario,
  options: Omit<RunOptions, "target"> = {},
): Promise<ScenarioResult> {
  const echo = echoServer();
  try {
    return await runScenario(s, { ...options, target: echo.addr });
  } finally {
    await echo.close();
  }
}

testEachEngine(
  "runScenario() ping-pongs against the echo server and measures latency",
  async ({ engine }) => {
    const result = await runOnEcho(scenario({ connections: 4, duration_secs: 0.5 }), {
      engine,
    });
    assert.ok(result.requests > 100, `only ${result.requests} requests`);
    assert.equal(result.errors.total, 0);
    assert.ok(
      result.duration_secs >= 0.45 && result.duration_secs < 0.8,
      `${result.duration_secs}`,
    );
    assert.ok(Math.abs(result.rps - result.requests / result.duration_secs) < result.rps * 0.01);
    const l = result.latency_us;
    assert.ok(l.min > 0 && l.min <= l.p50 && l.p50 <= l.p99 && l.p99 <= l.max);
    const bps = (result.requests * 1024) / result.duration_secs;
    assert.ok(Math.abs(result.throughput_up_bps - bps) < bps * 0.01);
    assert.equal(result.uncorrected_latency_us, undefined);
    assert.equal(resultHistogram(result).totalCount, result.requests);
  },
);

testEachEngine(
  "runScenario() in churn mode connects, exchanges once and closes",
  async ({ engine }) => {
    const result = await runOnEcho(scenario({ mode: "churn", connections: 2 }), {
      engine,
    });
    assert.ok(result.requests > 10, `only ${result.requests} connections`);
    assert.equal(result.errors.total, 0);
    assert.ok(result.connect_latency_us !== undefined);
    assert.ok(result.connect_latency_us.p50 > 0);
    assert.ok(result.latency_us.p50 >= result.connect_latency_us.p50);
  },
);

Deno.test("runScenario() with a warmup excludes it from the measured duration", async () => {
  const started = performance.now();
  const result = await runOnEcho(scenario({ warmup_secs: 0.3, duration_secs: 0.3 }));
  const wall = (performance.now() - started) / 1000;
  assert.ok(wall >= 0.6, `wall ${wall}`);
  assert.ok(
    result.duration_secs >= 0.28 && result.duration_secs < 0.45,
    `${result.duration_secs}`,
  );
});

testEachEngine("runScenario() open loop holds its rate within 5%", async ({ engine }) => {
  const result = await runOnEcho(
    scenario({ connections: 10, rate: 1000, duration_secs: 1 }),
    { engine },
  );
  assert.equal(result.target_rate, 1000);
  assert.ok(Math.abs(result.rps - 1000) <= 50, `rps ${result.rps}`);
  assert.ok(result.uncorrected_latency_us !== undefined);
  assert.equal(result.errors.total, 0);
});

Deno.test("runScenario() open loop shows a server's 200 ms stall in p99; uncorrected hides it", async () => {
  let stalled = false;
  let chunks = 0;
  const server = customServer(async () => {
    chunks++;
    if (!stalled && chunks === 100) {
      stalled = true;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  });
  try {
    const result = await runScenario(
      scenario({ connections: 5, rate: 500, duration_secs: 1, message_size: 64 }),
      { target: server.addr },
    );
    assert.ok(stalled);
    assert.equal(result.errors.total, 0);
    assert.ok(result.latency_us.p99 >= 100_000, `corrected p99 ${result.latency_us.p99}`);
    assert.ok(result.latency_us.max >= 190_000, `corrected max ${result.latency_us.max}`);
    const uncorrected = result.uncorrected_latency_us!;
    assert.ok(uncorrected.p99 < 50_000, `uncorrected p99 ${uncorrected.p99}`);
    assert.ok(uncorrected.max >= 190_000);
  } finally {
    await server.close();
  }
});

/** Bytes per request against the servers that get the echo wrong. */
const WRONG_ECHO_SIZE = 100;

/** Echo servers that get an echo wrong now and then: each wrong echo is a mismatch. */
const WRONG_ECHO_SERVERS: { name: string; start: () => TestServer }[] = [
  {
    name: "runScenario() catches a server that flips a byte",
    start: () => {
      let chunks = 0;
      return customServer((chunk) => {
        if (++chunks % 10 === 0) chunk[chunk.length - 1]! ^= 0x01;
      });
    },
  },
  {
    name: "runScenario() catches a server that sends a byte past the echo",
    start: () => {
      const size = WRONG_ECHO_SIZE;
      let messages = 0;
      return acceptLoop(async (conn) => {
        const buf = new Uint8Array(size + 1);
        for (;;) {
          let got = 0;
          while (got < size) {
            const n = await conn.read(buf.subarray(got, size));
            if (n === null) return;
            got += n;
          }
          // Every 5th echo carries one byte more, in the same write.
          buf[size] = 0x21;
          await writeAll(conn, buf.subarray(0, ++messages % 5 === 0 ? size + 1 : size));
        }
      });
    },
  },
];

for (const { name, start } of WRONG_ECHO_SERVERS) {
  testEachEngine(name, async ({ engine }) => {
    const server = start();
    try {
      const result = await runScenario(
        scenario({ connections: 2, message_size: WRONG_ECHO_SIZE }),
        { engine, target: server.addr },
      );
      assert.ok(result.errors.by_kind["mismatch"]! > 0, JSON.stringify(result.errors));
      assert.ok(result.requests > 0);
      assert.equal(result.errors.total, result.errors.by_kind["mismatch"]);
    } finally {
      await server.close();
    }
  });
}

testEachEngine(
  "runScenario() counts short reads when the server closes at once, and allFailed() says so",
  async ({ engine }) => {
    const server = customServer(() => {}, true);
    try {
      const result = await runScenario(scenario({ connections: 2 }), {
        engine,
        target: server.addr,
      });
      assert.equal(result.requests, 0);
      const failures = result.errors.by_kind["short_read"]! + result.errors.by_kind["reset"]!;
      assert.ok(failures > 0, JSON.stringify(result.errors));
      assert.ok(allFailed(result));
    } finally {
      await server.close();
    }
  },
);

testEachEngine(
  "runScenario() fails fast with ConnectError when nothing listens",
  async ({ engine }) => {
    const started = performance.now();
    await assert.rejects(
      runScenario(scenario(), { engine, target: closedPortAddr(), timeout_secs: 2 }),
      (error: unknown) => error instanceof ConnectError && error.kind === "refused",
    );
    assert.ok(performance.now() - started < 2000);
  },
);

testEachEngine(
  "runScenario() spreads connections over workers and merges them",
  async ({ engine }) => {
    const result = await runOnEcho(scenario({ connections: 4, duration_secs: 0.5 }), {
      engine,
      workers: 2,
    });
    assert.equal(result.connections, 4);
    assert.ok(result.requests > 100);
    assert.equal(resultHistogram(result).totalCount, result.requests);
    assert.equal(result.errors.total, 0);
    assert.ok(result.latency_us.p50 > 0);
  },
  NEEDS,
);

Deno.test("runMatrix() runs scenarios in order and stops early on abort", async () => {
  const echo = echoServer();
  try {
    const controller = new AbortController();
    const started = performance.now();
    const report = await runMatrix(
      [scenario({ name: "a", duration_secs: 0.2 }), scenario({ name: "b", duration_secs: 5 })],
      {
        target: echo.addr,
        signal: controller.signal,
        onStart: (s) => {
          if (s.name === "b") setTimeout(() => controller.abort(), 200);
        },
      },
    );
    assert.deepEqual(report.scenarios.map((s) => s.name), ["a", "b"]);
    assert.ok(performance.now() - started < 2000);
    assert.ok(report.scenarios[1]!.requests > 0);
    assert.ok(report.scenarios[1]!.duration_secs < 1);
  } finally {
    await echo.close();
  }
});

testEachEngine(
  "runScenario() moves messages larger than the socket buffers without deadlock",
  async ({ engine }) => {
    const result = await runOnEcho(
      scenario({ connections: 1, message_size: 32 * 1024 * 1024, duration_secs: 0.5 }),
      { engine, timeout_secs: 2 },
    );
    assert.ok(result.requests > 0);
    assert.equal(result.errors.total, 0);
  },
);

testEachEngine(
  "runScenario() counts a request with no echo within the timeout as a timeout",
  async ({ engine }) => {
    let first = true;
    const server = customServer(async () => {
      if (first) {
        first = false;
        await new Promise((resolve) => setTimeout(resolve, 400));
      }
    });
    try {
      const result = await runScenario(scenario({ connections: 1, duration_secs: 0.6 }), {
        engine,
        target: server.addr,
        timeout_secs: 0.1,
      });
      assert.equal(result.errors.by_kind["timeout"], 1);
      assert.ok(result.requests > 0, "the connection is replaced and the run goes on");
    } finally {
      await server.close();
    }
  },
);
