import assert from "node:assert/strict";
import { ConfigError } from "@monkey/shared";
import { serve, SERVICES } from "./serve.ts";

Deno.test("serve() names the services it knows when given another", async () => {
  await assert.rejects(
    () => serve(["haproxy"]),
    (error) =>
      error instanceof ConfigError &&
      error.message === `Cannot serve: expected one of ${SERVICES.join(", ")}, got 'haproxy'`,
  );
  await assert.rejects(() => serve([]), /got ''/);
});
