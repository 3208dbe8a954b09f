import assert from "node:assert/strict";
import { EPOLL_ENGINE, type NetConn } from "./engine.ts";
import { LiveTotals, relay, type RelayMode, type RelayOptions, type RelayResult } from "./relay.ts";
import {
  ENGINE_CASES,
  randomBytes,
  readAll,
  readExactly,
  readOutcome,
  relayEnds,
  sha256,
  writeAll,
} from "@monkey/testing";

/** The relays under test: the deno engine's two, and the epoll engine's. */
type Variant = RelayMode | "epoll";

const EPOLL_CASE = ENGINE_CASES.find((c) => c.engine === "epoll")!;

/** The relays, each with its test-name prefix and whether it runs here. */
const VARIANTS: readonly { variant: Variant; title: string; label: string; ignore: boolean }[] = [
  { variant: "loop", title: "relay(loop)", label: "engine deno", ignore: false },
  { variant: "streams", title: "relay(streams)", label: "engine deno", ignore: false },
  {
    variant: "epoll",
    title: "EPOLL_ENGINE.relay()",
    label: EPOLL_CASE.label,
    ignore: EPOLL_CASE.ignore,
  },
];

/**
 * Deno client -> epoll listener -> [accepted, upstream] -> Deno server: the epoll relay's two
 * middle sockets are the epoll engine's own, the test's ends plain Deno connections.
 */
async function epollEnds(): Promise<{
  client: Deno.TcpConn;
  accepted: NetConn;
  upstream: NetConn;
  server: Deno.TcpConn;
}> {
  const front = EPOLL_ENGINE.listen({ hostname: "127.0.0.1", port: 0 });
  const back = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const [client, accepted] = await Promise.all([
      Deno.connect({ hostname: "127.0.0.1", port: (front.addr as Deno.NetAddr).port }),
      front.accept(),
    ]);
    const [upstream, server] = await Promise.all([
      EPOLL_ENGINE.connect({ hostname: "127.0.0.1", port: back.addr.port }),
      back.accept(),
    ]);
    return { client, accepted, upstream, server };
  } finally {
    front.close();
    back.close();
  }
}

/** client <-> [relay] <-> server, all on loopback. */
async function relayPair(variant: Variant, options: RelayOptions = {}) {
  if (variant === "epoll") {
    const { client, accepted, upstream, server } = await epollEnds();
    const done: Promise<RelayResult> = EPOLL_ENGINE.relay(accepted, upstream, options);
    return { client, server, done };
  }
  const { client, accepted, upstream, server } = await relayEnds();
  const done: Promise<RelayResult> = relay(accepted, upstream, { ...options, mode: variant });
  return { client, server, done };
}

function close(...conns: Deno.Conn[]) {
  for (const conn of conns) {
    try {
      conn.close();
    } catch {
      // Closed by the test already.
    }
  }
}

const MiB = 1024 * 1024;

for (const { variant: mode, title, label, ignore } of VARIANTS) {
  const test = (name: string, fn: () => Promise<void>) =>
    Deno.test({ name: `${title} ${name} (${label})`, ignore, fn });

  test(`copies 8 MiB of random data each way, byte-exact`, async () => {
    const { client, server, done } = await relayPair(mode);
    const up = randomBytes(8 * MiB);
    const down = randomBytes(8 * MiB);
    const [gotAtServer, gotAtClient] = await Promise.all([
      readAll(server),
      readAll(client),
      writeAll(client, up).then(() => client.closeWrite()),
      writeAll(server, down).then(() => server.closeWrite()),
    ]);
    assert.equal(gotAtServer.length, up.length);
    assert.equal(await sha256(gotAtServer), await sha256(up));
    assert.equal(await sha256(gotAtClient), await sha256(down));
    const result = await done;
    assert.equal(result.up, 8 * MiB);
    assert.equal(result.down, 8 * MiB);
    assert.equal(result.reason, "done");
    close(client, server);
  });

  const HALF_CLOSES = [
    { closer: "client", other: "server", text: "request", rest: 300 * 1024 },
    { closer: "server", other: "client", text: "banner", rest: 200 * 1024 },
  ] as const;
  for (const { closer, other, text, rest } of HALF_CLOSES) {
    test(`propagates the ${closer}'s half-close while the ${other} still sends`, async () => {
      const ends = await relayPair(mode);
      const [first, second] = [ends[closer], ends[other]];
      await writeAll(first, new TextEncoder().encode(text));
      await first.closeWrite();
      // The other end sees EOF after the text, then sends on the still-open direction.
      assert.equal(new TextDecoder().decode(await readAll(second)), text);
      const body = randomBytes(rest);
      await writeAll(second, body);
      await second.closeWrite();
      assert.equal(await sha256(await readAll(first)), await sha256(body));
      const result = await ends.done;
      const [up, down] = closer === "client" ? [text.length, rest] : [rest, text.length];
      assert.deepEqual([result.up, result.down, result.reason], [up, down, "done"]);
      close(ends.client, ends.server);
    });
  }

  test(`ends both sides when the server resets mid-stream`, async () => {
    const { client, server, done } = await relayPair(mode);
    await writeAll(client, randomBytes(4096));
    await readExactly(server, 1); // the data reached the server; 4095 bytes stay unread
    server.close(); // unread data pending: the kernel sends RST
    const outcome = await readOutcome(client);
    assert.notEqual(outcome, "data");
    const result = await done;
    assert.equal(result.reason, "reset");
    close(client);
  });

  test(`ends both sides when the client resets`, async () => {
    const { client, server, done } = await relayPair(mode);
    await writeAll(server, randomBytes(4096));
    await readExactly(client, 1);
    client.close();
    assert.notEqual(await readOutcome(server), "data");
    assert.equal((await done).reason, "reset");
    close(server);
  });

  test(`closes both sides after the idle timeout`, async () => {
    const { client, server, done } = await relayPair(mode, { idleTimeoutMs: 80 });
    await writeAll(client, new Uint8Array([1, 2, 3]));
    await readExactly(server, 3);
    const started = performance.now();
    const [result, clientEnd, serverEnd] = await Promise.all([
      done,
      readOutcome(client),
      readOutcome(server),
    ]);
    assert.equal(result.reason, "idle_timeout");
    assert.notEqual(clientEnd, "data");
    assert.notEqual(serverEnd, "data");
    assert.ok(performance.now() - started >= 60, "closed before the timeout");
    close(client, server);
  });

  test(`keeps a busy connection open past the idle timeout`, async () => {
    const { client, server, done } = await relayPair(mode, { idleTimeoutMs: 100 });
    const ticks = 8;
    for (let i = 0; i < ticks; i++) {
      await writeAll(client, new Uint8Array([i]));
      assert.equal((await readExactly(server, 1))[0], i);
      await new Promise((resolve) => setTimeout(resolve, 40)); // traffic every 40 ms, 320 ms in all
    }
    await client.closeWrite();
    await server.closeWrite();
    assert.equal((await done).reason, "done");
    close(client, server);
  });

  test(`closes both sides when its signal aborts`, async () => {
    const controller = new AbortController();
    const { client, server, done } = await relayPair(mode, { signal: controller.signal });
    controller.abort();
    const [result, a, b] = await Promise.all([done, readOutcome(client), readOutcome(server)]);
    assert.equal(result.reason, "aborted");
    assert.notEqual(a, "data");
    assert.notEqual(b, "data");
    close(client, server);
  });
}

for (const { variant, title, label, ignore } of VARIANTS) {
  Deno.test({
    name: `${title} counts bytes into the stats object while the connection is live (${label})`,
    ignore,
    fn: () => countsLive(variant),
  });
}

async function countsLive(variant: Variant): Promise<void> {
  const totals = new LiveTotals();
  const stats = totals.open();
  const { client, server, done } = await relayPair(variant, { stats });
  await writeAll(client, new Uint8Array(1000));
  await readExactly(server, 1000);
  assert.equal(stats.up, 1000);
  assert.equal(totals.up(), 1000, "live bytes show in the totals before the connection ends");
  await client.closeWrite();
  await server.closeWrite();
  await done;
  totals.close(stats);
  assert.equal(totals.up(), 1000);
  assert.equal(totals.down(), 0);
  close(client, server);
}
