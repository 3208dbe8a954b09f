/**
 * The load tester as a TLS client: `tls`, `tls_ca`, `tls_server_name` and `tls_insecure`
 * (flags `--tls`, `--tls-ca`, `--tls-server-name`, `--tls-insecure`) read into the settings
 * the connections use, and the engine a TLS run really runs on (Deno's own sockets: TLS is
 * `Deno.connectTls`/`Deno.startTls`, which the epoll engine cannot speak).
 *
 * @module
 */

import {
  ConfigError,
  createTlsEngine,
  type Engine,
  type EngineChoice,
  loadUpstreamTls,
  resolveEngine,
  type UpstreamTlsSettings,
} from "@monkey/shared";

/** What a TLS client connects with: trusted CAs, server name, verification. */
export type ClientTlsSettings = UpstreamTlsSettings;

/** The TLS keys of the load tester's configuration. */
export interface ClientTlsKeys {
  /** `tls`: speak TLS. */
  tls: boolean;
  /** `tls_ca`: PEM file of extra trusted CAs. */
  tls_ca?: string | undefined;
  /** `tls_server_name`: SNI sent and name verified. */
  tls_server_name?: string | undefined;
  /** `tls_insecure`: skip verification. */
  tls_insecure: boolean;
}

/**
 * Read the TLS keys: the CA file is read here, so a bad one is a configuration error.
 *
 * @param config The keys.
 * @param label Where they came from, for messages (a file name, or "flags").
 * @returns The settings, or undefined when `tls` is off.
 * @throws {ConfigError} When `tls_ca`, `tls_server_name` or `tls_insecure` is given without
 *   `tls`, the CA file cannot be read or is not PEM, or the server name is not a host name.
 * @example
 * ```ts
 * const tls = clientTlsFrom({ tls: true, tls_ca: "ca.pem", tls_insecure: false }, "flags");
 * ```
 */
export function clientTlsFrom(
  config: ClientTlsKeys,
  label: string,
): ClientTlsSettings | undefined {
  if (!config.tls) {
    const stray = config.tls_ca !== undefined
      ? "tls_ca"
      : config.tls_server_name !== undefined
      ? "tls_server_name"
      : config.tls_insecure
      ? "tls_insecure"
      : undefined;
    if (stray !== undefined) {
      throw new ConfigError(
        `Cannot use '${stray}' in ${label}: it needs tls = true (--tls), got tls = false`,
      );
    }
    return undefined;
  }
  return loadUpstreamTls(
    {
      upstream_tls: true,
      upstream_ca: config.tls_ca,
      upstream_sni: config.tls_server_name,
      upstream_tls_insecure: config.tls_insecure,
    },
    label,
    { ca: "tls_ca", sni: "tls_server_name" },
  );
}

/**
 * The engine the connections use: `choice` for plain TCP; for TLS the deno engine with TLS
 * connects, whatever `choice` is (an explicit `epoll` falls back, see
 * {@linkcode clientEngineNote}).
 *
 * @param choice The `engine` key.
 * @param tls The TLS settings, if any.
 * @returns The engine.
 * @example
 * ```ts
 * const io = clientEngine("auto", { caCerts: [], sni: "localhost", insecure: false });
 * ```
 */
export function clientEngine(choice: EngineChoice, tls: ClientTlsSettings | undefined): Engine {
  return tls === undefined ? resolveEngine(choice) : createTlsEngine({ upstream: tls });
}

/**
 * How the first line names the engine: `epoll`, `deno`, `deno, TLS`, or
 * `deno, TLS; --engine epoll falls back: TLS needs the deno engine`.
 *
 * @param choice The `engine` key.
 * @param tls Whether the run speaks TLS.
 * @returns Text for `(engine: …)`.
 * @example
 * ```ts
 * clientEngineNote("auto", true); // "deno, TLS"
 * ```
 */
export function clientEngineNote(choice: EngineChoice, tls: boolean): string {
  if (!tls) return resolveEngine(choice).name;
  return choice === "epoll"
    ? "deno, TLS; --engine epoll falls back: TLS needs the deno engine"
    : "deno, TLS";
}
