/**
 * Turning the protocol keys of `load_test.toml` and the flags into one scenario's
 * {@linkcode ProtocolSpec}: a flag wins over the scenario's key, which wins over the top level.
 *
 * @module
 */

import { ConfigError } from "@monkey/shared";
import type { LoadTestConfig } from "./config.ts";
import type { ProtocolSpec } from "./protocols/types.ts";

/** A scenario's own protocol keys. */
interface ScenarioKeys {
  protocol?: ProtocolSpec["protocol"] | undefined;
  pipeline?: number | undefined;
  command?: string[];
  request?: string[];
  send?: string | undefined;
  expect?: string | undefined;
}

/**
 * Resolve one scenario's protocol settings.
 *
 * @param config File + flags.
 * @param flags Flags alone.
 * @param scenario The scenario's own keys (matrix mode).
 * @param target The target, for HTTP's `Host` header.
 * @returns `{ protocol }` with the settings, or `{}` for plain echo (the seed's scenarios).
 * @throws {ConfigError} When `--body-file` or `--send-file` cannot be read.
 */
export function protocolFor(
  config: LoadTestConfig,
  flags: LoadTestConfig,
  scenario: ScenarioKeys | undefined,
  target: string,
): { protocol?: ProtocolSpec } {
  const list = (key: "command" | "request") =>
    flags[key].length > 0
      ? flags[key]
      : (scenario?.[key]?.length ?? 0) > 0
      ? scenario![key]!
      : config[key];
  const spec: ProtocolSpec = {
    protocol: flags.protocol ?? scenario?.protocol ?? config.protocol ?? "echo",
    pipeline: flags.pipeline ?? scenario?.pipeline ?? config.pipeline ?? 1,
    commands: list("command"),
    requests: list("request"),
    headers: config.header,
    body: config.body_file !== undefined
      ? readFile(config.body_file, "body-file")
      : config.body !== undefined
      ? new TextEncoder().encode(config.body)
      : undefined,
    send: flags.send ?? scenario?.send ?? config.send,
    send_bytes: config.send_file !== undefined
      ? readFile(config.send_file, "send-file")
      : undefined,
    first_send: config.first_send,
    expect: flags.expect ?? scenario?.expect ?? config.expect,
    expect_end: config.expect_end,
    expect_status: config.expect_status,
    host: target,
  };
  return spec.protocol === "echo" && spec.pipeline === 1 ? {} : { protocol: spec };
}

function readFile(path: string, flag: string): Uint8Array {
  try {
    return Deno.readFileSync(path);
  } catch (error) {
    throw new ConfigError(
      `Cannot read flag --${flag}: ${(error as Error).message.split("\n")[0]}, got '${path}'`,
    );
  }
}
