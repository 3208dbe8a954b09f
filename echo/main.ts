/**
 * `deno task echo`: run the echo server from `echo/echo.toml` and flags.
 *
 * @module
 */

import { runMain, serviceMain } from "@monkey/shared";
import { ECHO_SCHEMA } from "./config.ts";
import { startEcho } from "./echo.ts";

if (import.meta.main) {
  await runMain(() =>
    serviceMain({
      name: "echo",
      schema: ECHO_SCHEMA,
      usage: "deno task echo [--config echo/echo.toml] [flags]",
      args: Deno.args,
      start: (config, logger) => startEcho(config, { logger }),
      banner: (echo) => `echoing on ${echo.addr} (engine: ${echo.engine})`,
    })
  );
}
