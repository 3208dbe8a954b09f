import assert from "node:assert/strict";
import { EpollConn, Logger, memorySink } from "@monkey/shared";
import { dial, readOutcome, startPeer, testEachEngine } from "@monkey/testing";
import { startProxy } from "./proxy.ts";

testEachEngine(
  "proxy logs a failed PROXY protocol header write (throttled) and closes the client",
  async ({ engine }) => {
    await using target = startPeer(async (conn) => {
      await readOutcome(conn);
    });
    const { sink, lines } = memorySink();
    const proxy = startProxy({
      listen_addr: "127.0.0.1:0",
      target_addr: target.addr,
      metrics_addr: "off",
      proxy_protocol: "v1",
      engine,
    }, { logger: new Logger({ name: "proxy", sink }) });
    // Make exactly the header write fail, as a reset upstream would, without racing a real RST:
    // on the class of the engine's upstream connections.
    const probe = await dial(target.addr);
    const proto = (engine === "epoll" ? EpollConn.prototype : Object.getPrototypeOf(probe)) as {
      write(p: Uint8Array): Promise<number>;
    };
    probe.close();
    const write = proto.write;
    proto.write = function (this: Deno.Conn, p: Uint8Array) {
      if (new TextDecoder().decode(p.subarray(0, 6)) === "PROXY ") {
        return Promise.reject(new Deno.errors.BrokenPipe("Broken pipe (os error 32)"));
      }
      return write.call(this, p);
    };
    try {
      const clients = [await dial(proxy.addr), await dial(proxy.addr)];
      for (const conn of clients) {
        assert.notEqual(await readOutcome(conn), "data");
        conn.close();
      }
      // The client is closed in the same synchronous step that logs: its EOF means the line is in.
    } finally {
      proto.write = write;
    }
    const logged = lines.filter((l) => /PROXY protocol/.test(l));
    assert.equal(logged.length, 1, `one line for two failures (throttled): ${lines.join("\n")}`);
    assert.match(
      logged[0]!,
      /WARN {2}proxy: cannot send the PROXY protocol v1 header to 127\.0\.0\.1:\d+: Broken pipe \(os error 32\); closed client 127\.0\.0\.1$/,
    );
    await proxy.shutdown(0);
  },
);
