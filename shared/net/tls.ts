/**
 * TLS settings of the forwarding services: the config keys for termination (`tls_cert`,
 * `tls_key`, `tls_alpn`) and origination (`upstream_tls`, `upstream_ca`, `upstream_sni`,
 * `upstream_tls_insecure`), reading and checking the PEM files, and choosing the engine (TLS
 * needs Deno's own sockets).
 *
 * @module
 */

import { createPrivateKey, X509Certificate } from "node:crypto";
import { ConfigError, showValue } from "../config/errors.ts";
import { DENO_ENGINE, type Engine, type EngineChoice, resolveEngine } from "./engine.ts";

/** `tls_cert`, `tls_key`, `tls_alpn`: terminate TLS on the listener. */
export const TLS_LISTEN_FIELDS = {
  tls_cert: {
    type: "string",
    optional: true,
    description:
      "PEM certificate chain: the listener speaks TLS (needs tls_key); re-read on SIGHUP",
  },
  tls_key: {
    type: "string",
    optional: true,
    description: "PEM private key of tls_cert",
  },
  tls_alpn: {
    type: "strings",
    default: [],
    description: "ALPN protocols the TLS listener offers, e.g. h2, http/1.1 (repeatable)",
  },
} as const;

/** `upstream_tls`, `upstream_ca`, `upstream_sni`, `upstream_tls_insecure`: originate TLS. */
export const UPSTREAM_TLS_FIELDS = {
  upstream_tls: {
    type: "boolean",
    default: false,
    description: "Connect to the target/backends over TLS (certificate verified)",
  },
  upstream_ca: {
    type: "string",
    optional: true,
    description: "PEM CA certificate(s) trusted for upstream TLS, besides the system roots",
  },
  upstream_sni: {
    type: "string",
    optional: true,
    description: "Server name sent and verified upstream; default: the target's host",
  },
  upstream_tls_insecure: {
    type: "boolean",
    default: false,
    description: "Do not verify the upstream certificate (self-signed labs only; logged)",
  },
} as const;

/** A certificate and its key, both PEM text. */
export interface TlsCertificate {
  /** The certificate chain. */
  cert: string;
  /** The private key. */
  key: string;
}

/** What upstream TLS connects with. */
export interface UpstreamTlsSettings {
  /** Extra trusted CA certificates (PEM). */
  caCerts: string[];
  /** Server name to send and verify; undefined: the host connected to. */
  sni: string | undefined;
  /** Skip verification entirely. */
  insecure: boolean;
}

/** The TLS keys of a service configuration (any of them may be absent). */
export interface TlsKeys {
  /** `tls_cert`. */
  tls_cert?: string | undefined;
  /** `tls_key`. */
  tls_key?: string | undefined;
  /** `upstream_tls`. */
  upstream_tls?: boolean | undefined;
  /** `upstream_ca`. */
  upstream_ca?: string | undefined;
  /** `upstream_sni`. */
  upstream_sni?: string | undefined;
  /** `upstream_tls_insecure`. */
  upstream_tls_insecure?: boolean | undefined;
}

function readPem(path: string, key: string, label: string, marker: RegExp): string {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (error) {
    const why = error instanceof Deno.errors.NotFound
      ? "no such file"
      : error instanceof Deno.errors.PermissionDenied
      ? "permission denied (run with --allow-read)"
      : (error as Error).message.split("\n")[0];
    throw new ConfigError(`Cannot read '${key}' in ${label}: ${why}, got ${showValue(path)}`);
  }
  if (!marker.test(text)) {
    throw new ConfigError(
      `Cannot parse '${key}' in ${label}: expected a PEM file (${marker.source}), got ${
        showValue(path)
      }`,
    );
  }
  return text;
}

const CERT_MARKER = /-----BEGIN CERTIFICATE-----/;
const KEY_MARKER = /-----BEGIN ([A-Z]+ )?PRIVATE KEY-----/;

/**
 * Read `tls_cert` and `tls_key` and check that they belong together.
 *
 * @param config The service configuration.
 * @param label The file (or "flags") named in messages.
 * @returns The PEM pair, or undefined when TLS termination is off (neither key set).
 * @throws {ConfigError} When only one is set, a file is missing, unreadable or not PEM, or the
 *   key does not match the certificate.
 * @example
 * ```ts
 * const pem = loadTlsCertificate({ tls_cert: "cert.pem", tls_key: "key.pem" }, "lb.toml");
 * ```
 */
export function loadTlsCertificate(config: TlsKeys, label: string): TlsCertificate | undefined {
  const { tls_cert: certPath, tls_key: keyPath } = config;
  if (certPath === undefined && keyPath === undefined) return undefined;
  if (certPath === undefined || keyPath === undefined) {
    const missing = certPath === undefined ? "tls_cert" : "tls_key";
    const set = certPath === undefined ? "tls_key" : "tls_cert";
    throw new ConfigError(`Missing key '${missing}' in ${label}: '${set}' needs it for TLS`);
  }
  const cert = readPem(certPath, "tls_cert", label, CERT_MARKER);
  const key = readPem(keyPath, "tls_key", label, KEY_MARKER);
  let matches: boolean;
  try {
    matches = new X509Certificate(cert).checkPrivateKey(createPrivateKey(key));
  } catch (error) {
    throw new ConfigError(
      `Cannot parse 'tls_cert'/'tls_key' in ${label}: ${
        (error as Error).message.split("\n")[0]
      }, got ${showValue(certPath)} and ${showValue(keyPath)}`,
    );
  }
  if (!matches) {
    throw new ConfigError(
      `Cannot use 'tls_key' in ${label}: the key does not match the certificate in ${
        showValue(certPath)
      }, got ${showValue(keyPath)}`,
    );
  }
  return { cert, key };
}

/** The key names {@linkcode loadUpstreamTls} names in its messages. */
export interface UpstreamTlsKeyNames {
  /** The CA file's key. @default "upstream_ca" */
  ca: string;
  /** The server name's key. @default "upstream_sni" */
  sni: string;
}

/**
 * Read the upstream TLS settings (`upstream_ca` is read here).
 *
 * @param config The service configuration.
 * @param label The file (or "flags") named in messages.
 * @param names The keys as the caller's schema spells them (the load tester's `tls_ca`,
 *   `tls_server_name`), for messages. @default upstream_ca, upstream_sni
 * @returns The settings, or undefined when `upstream_tls` is off.
 * @throws {ConfigError} When `upstream_ca` cannot be read or is not PEM, or `upstream_sni` is not
 *   a host name.
 * @example
 * ```ts
 * const upstream = loadUpstreamTls({ upstream_tls: true, upstream_ca: "ca.pem" }, "proxy.toml");
 * ```
 */
export function loadUpstreamTls(
  config: TlsKeys,
  label: string,
  names: UpstreamTlsKeyNames = { ca: "upstream_ca", sni: "upstream_sni" },
): UpstreamTlsSettings | undefined {
  if (config.upstream_tls !== true) return undefined;
  const caCerts = config.upstream_ca === undefined
    ? []
    : [readPem(config.upstream_ca, names.ca, label, CERT_MARKER)];
  const sni = config.upstream_sni;
  if (sni !== undefined && !/^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/.test(sni)) {
    throw new ConfigError(
      `Cannot parse '${names.sni}' in ${label}: expected a host name, got ${showValue(sni)}`,
    );
  }
  return { caCerts, sni, insecure: config.upstream_tls_insecure === true };
}

/**
 * Whether the configuration terminates or originates TLS.
 *
 * @param config The service configuration.
 * @returns True when `tls_cert`/`tls_key` or `upstream_tls` is set.
 * @example
 * ```ts
 * usesTls({ upstream_tls: true }); // true
 * ```
 */
export function usesTls(config: TlsKeys): boolean {
  return config.tls_cert !== undefined || config.tls_key !== undefined ||
    config.upstream_tls === true;
}

/** What {@linkcode resolveTlsEngine} chose. */
export interface EngineDecision {
  /** The engine. */
  engine: Engine;
  /** Why, for the startup line: `TLS needs it`, or undefined when TLS played no part. */
  reason: string | undefined;
}

/**
 * Resolve the `engine` key, taking TLS into account: TLS runs on Deno's own sockets, so `auto`
 * becomes `deno` when TLS is configured, and an explicit `epoll` is a configuration error.
 *
 * @param choice The `engine` key.
 * @param tls Whether TLS (termination or origination) is configured.
 * @param label The file (or "flags") named in messages.
 * @returns The engine and the reason for the startup line.
 * @throws {ConfigError} On `engine = "epoll"` with TLS.
 * @example
 * ```ts
 * resolveTlsEngine("auto", true, "proxy.toml"); // { engine: DENO_ENGINE, reason: "TLS needs it" }
 * ```
 */
export function resolveTlsEngine(
  choice: EngineChoice,
  tls: boolean,
  label: string,
): EngineDecision {
  if (!tls) return { engine: resolveEngine(choice), reason: undefined };
  if (choice === "epoll") {
    throw new ConfigError(
      `Cannot use 'engine' in ${label}: TLS (tls_cert/upstream_tls) needs the deno engine, ` +
        `got 'epoll' (use engine = "auto" or "deno")`,
    );
  }
  return { engine: DENO_ENGINE, reason: "TLS needs it" };
}
