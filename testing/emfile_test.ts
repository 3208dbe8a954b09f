import assert from "node:assert/strict";
import { exhaustDescriptors } from "./emfile.ts";
import { metricsJson } from "./metrics.ts";
import { requires } from "./permissions.ts";

const READY = /proxying (\S+) -> .*metrics on http:\/\/(\S+)\/metrics/;

Deno.test(
  "exhaustDescriptors() drives a service into EMFILE and sees it serve again when it backs off",
  requires("run", "read", "env"),
  async () => {
    await using run = await exhaustDescriptors({
      main: "testing/testdata/emfile_peer.ts",
      upstreamFlag: "--target",
      ready: READY,
      clients: 60,
    });
    assert.equal(run.echoed, "again");
    const json = await metricsJson<{ accept_errors: number }>(run.metrics);
    assert.ok(json.accept_errors > 0, `accept_errors ${json.accept_errors}`);
  },
);

Deno.test(
  "exhaustDescriptors() rejects when the accept loop dies on EMFILE instead of backing off",
  requires("run", "read", "env"),
  async () => {
    await assert.rejects(
      exhaustDescriptors({
        main: "testing/testdata/emfile_peer.ts",
        upstreamFlag: "--target",
        ready: READY,
        clients: 60,
        recoverMs: 1000,
        flags: ["--on-error", "die"],
      }),
      /No echo from \S+ within 1000 ms of freeing the descriptors/,
    );
  },
);
