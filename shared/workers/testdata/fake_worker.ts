/**
 * A fake service for the worker tests: no sockets, one counter, and switches to misbehave.
 * `crash` names the worker that throws an uncaught error right after starting; `fetch` throws
 * on `/throw` and never answers `/hang`; `shutdown` throws when `failShutdown` names the worker.
 *
 * @module
 */

import { serveInWorker } from "../mod.ts";

interface FakeConfig {
  listen_addr: string;
  crash?: string;
  failShutdown?: string;
}

const name = (globalThis as unknown as { name: string }).name;
let extraCalls = 0;

serveInWorker((raw) => {
  const config = raw as FakeConfig;
  if (config.crash === name) {
    setTimeout(() => Promise.reject(new Error(`${name} crashed on purpose`)), 20);
  }
  return {
    addr: config.listen_addr === "127.0.0.1:0" ? "127.0.0.1:1" : config.listen_addr,
    snapshot: () => ({ total_connections: 1, extra_calls: extraCalls }),
    families: () => [],
    extra: () => {
      extraCalls++;
      return [{ worker: name }];
    },
    fetch: (request) => {
      const path = new URL(request.url).pathname;
      if (path === "/throw") throw new Error("fetch blew up");
      if (path === "/hang") return new Promise<Response>(() => {});
      return Response.json({ worker: name });
    },
    shutdown: () => {
      if (config.failShutdown === name) return Promise.reject(new Error("shutdown blew up"));
      return Promise.resolve({ total_connections: 1, forced: 0 });
    },
  };
});
