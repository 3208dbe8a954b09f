/**
 * A stand-in service for the EMFILE harness's own test: it echoes on `--listen`, serves
 * `/metrics?format=json` on `--metrics`, and on an accept error either backs off and retries
 * (`--on-error retry`) or lets its accept loop die (`--on-error die`), the bug the harness
 * exists to catch.
 *
 * @module
 */

import { parseArgs } from "node:util";

const BACKOFF_MS = 50;

const { values } = parseArgs({
  options: {
    listen: { type: "string" },
    target: { type: "string" },
    metrics: { type: "string" },
    "metrics-log-interval-secs": { type: "string" },
    "on-error": { type: "string", default: "retry" },
  },
});
// Like the real services: signal handlers are set up before descriptors run out (Deno sets
// them up lazily, and panics when that first happens with none left).
Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
let acceptErrors = 0;
const server = Deno.serve(
  { hostname: "127.0.0.1", port: 0, onListen: () => {} },
  () => Response.json({ accept_errors: acceptErrors }),
);
console.log(
  `proxying 127.0.0.1:${listener.addr.port} -> ${values.target} ` +
    `metrics on http://127.0.0.1:${server.addr.port}/metrics`,
);

async function echo(conn: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(1024);
  try {
    for (let n = await conn.read(buf); n !== null; n = await conn.read(buf)) {
      await conn.write(buf.subarray(0, n));
    }
  } catch {
    // The client went away.
  } finally {
    conn.close();
  }
}

for (;;) {
  try {
    void echo(await listener.accept());
  } catch (error) {
    acceptErrors++;
    console.error(`accept failed on ${values.listen}: ${(error as Error).message}`);
    if (values["on-error"] === "die") await new Promise(() => {}); // never accepts again
    await new Promise((resolve) => setTimeout(resolve, BACKOFF_MS));
  }
}
