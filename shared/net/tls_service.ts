/**
 * TLS of a forwarding service (proxy, load balancer) set up in one place: read and check the
 * PEM files, choose the engine (TLS needs Deno's own sockets), build the TLS engine, warn about
 * unverified upstream certificates, and reload the certificate on SIGHUP, keeping the old one
 * (and saying why) when the new files are bad. With `accept_proxy` on, the listener accepts
 * plain TCP and the client gate starts TLS after the PROXY header ({@linkcode ServiceTls.upgrade}).
 *
 * @module
 */

import type { Logger } from "../service/logger.ts";
import type { Engine, EngineChoice } from "./engine.ts";
import {
  loadTlsCertificate,
  loadUpstreamTls,
  resolveTlsEngine,
  type TlsKeys,
  usesTls,
} from "./tls.ts";
import { createTlsEngine, type TlsEngine, type TlsUpgrade } from "./tls_engine.ts";

/** The keys {@linkcode setupServiceTls} reads. */
export interface ServiceTlsConfig extends TlsKeys {
  /** The `engine` key. */
  engine: EngineChoice;
  /** `tls_alpn`. */
  tls_alpn: string[];
  /** `accept_proxy`: when on, TLS starts after the PROXY header, read in clear. @default "off" */
  accept_proxy?: string;
}

/** Options for {@linkcode setupServiceTls}. */
export interface ServiceTlsOptions {
  /** Where the configuration came from, named in messages. */
  label: string;
  /** Where the insecure-upstream warning and failed reloads are logged. */
  logger: Logger;
  /** Whose certificates `upstream_tls_insecure` leaves unverified, e.g. "the target's". */
  peer: string;
  /** Something besides these keys needs TLS (a load balancer pool's `upstream_tls`). @default false */
  alsoTls?: boolean;
}

/** What a certificate reload did. */
export type CertificateReload = "reloaded" | "failed" | "off";

/** A service's TLS, ready to listen and connect with. */
export interface ServiceTls {
  /** The engine to listen, connect and relay with (a TLS engine when TLS is configured). */
  readonly engine: Engine;
  /** The engine as the startup line names it when TLS chose it (`deno (TLS needs it)`). */
  readonly engineLabel: string | undefined;
  /** Whether the listener terminates TLS. */
  readonly terminates: boolean;
  /**
   * With `accept_proxy` and `tls_cert` both on, the listener accepts plain TCP: pass this to
   * the client gate, which starts TLS after the PROXY header. Undefined otherwise.
   */
  readonly upgrade: TlsUpgrade | undefined;
  /**
   * Re-read `tls_cert` and `tls_key` and serve new connections with them; live connections
   * keep theirs. A bad pair is logged with the reason and the old certificate stays.
   *
   * @param config The keys naming the files (usually the running configuration).
   * @returns `reloaded`, `failed` (logged; the old one stays) or `off` (no termination).
   */
  reloadCertificate(config: TlsKeys): Promise<CertificateReload>;
}

/**
 * Read a service's TLS keys and build its engine.
 *
 * @param config `tls_*`, `upstream_*` and `engine`.
 * @param options Label, logger and the peer named in the insecure warning.
 * @returns The engine and the certificate reload.
 * @throws {ConfigError} On a bad PEM file, a key that does not match, or `engine = "epoll"`
 *   with TLS.
 * @example
 * ```ts
 * const tls = setupServiceTls(config, { label: "proxy.toml", logger, peer: "the target's" });
 * startFrontend({ listen: config.listen_addr, engine: tls.engine, handler, ... });
 * await tls.reloadCertificate(config); // on SIGHUP
 * ```
 */
export function setupServiceTls(config: ServiceTlsConfig, options: ServiceTlsOptions): ServiceTls {
  const { label, logger } = options;
  const tls = usesTls(config) || options.alsoTls === true;
  const decision = resolveTlsEngine(config.engine, tls, label);
  const certificate = loadTlsCertificate(config, label);
  const upstream = loadUpstreamTls(config, label);
  const tlsEngine: TlsEngine | undefined = tls
    ? createTlsEngine({
      certificate,
      alpn: config.tls_alpn,
      upstream,
      handshakeAfterPreamble: (config.accept_proxy ?? "off") !== "off",
    })
    : undefined;
  if (upstream?.insecure) {
    logger.warn(`upstream_tls_insecure = true: ${options.peer} certificates are NOT verified`);
  }
  const engine = tlsEngine ?? decision.engine;
  return {
    engine,
    engineLabel: decision.reason ? `${engine.name} (${decision.reason})` : undefined,
    terminates: certificate !== undefined,
    upgrade: tlsEngine?.upgrade,
    async reloadCertificate(keys) {
      if (tlsEngine === undefined || certificate === undefined) return "off";
      try {
        await tlsEngine.reloadCertificate(loadTlsCertificate(keys, label)!);
        return "reloaded";
      } catch (error) {
        logger.warn(
          `TLS certificate reload failed, keeping the old one: ${
            (error as Error).message.split("\n")[0]
          }`,
        );
        return "failed";
      }
    },
  };
}
