/**
 * Certificate files a test can swap under a running service (reload tests): a temporary copy
 * of one test certificate and its key, replaced piece by piece.
 *
 * @module
 */

import assert from "node:assert/strict";
import { assertEchoes } from "./io.ts";
import { testCertPaths, tlsDial } from "./tls.ts";

/** A temporary `cert.pem` and `key.pem`; removed on dispose. */
export interface CertFiles extends Disposable {
  /** The certificate file's path. */
  readonly cert: string;
  /** The key file's path. */
  readonly key: string;
  /** The folder holding them (write other files of the test there). */
  readonly dir: string;
  /**
   * Copy test certificate `name` over `cert.pem` (the key stays: a mismatch until `useKey`).
   *
   * @param name `localhost`, `a.test` or `b.test`.
   */
  useCert(name: string): void;
  /**
   * Copy the key of test certificate `name` over `key.pem`.
   *
   * @param name `localhost`, `a.test` or `b.test`.
   */
  useKey(name: string): void;
}

/**
 * Copy test certificate `name` and its key into a temporary folder.
 *
 * @param name `localhost`, `a.test` or `b.test`.
 * @returns The files; dispose to remove them.
 * @example
 * ```ts
 * using files = certFiles("a.test");
 * const proxy = startProxy({ tls_cert: files.cert, tls_key: files.key, ... });
 * files.useCert("b.test"); // key no longer matches: a reload keeps the old pair
 * ```
 */
export function certFiles(name: string): CertFiles {
  const dir = Deno.makeTempDirSync();
  const cert = `${dir}/cert.pem`;
  const key = `${dir}/key.pem`;
  const useCert = (next: string) => Deno.copyFileSync(testCertPaths(next).cert, cert);
  const useKey = (next: string) => Deno.copyFileSync(testCertPaths(next).key, key);
  useCert(name);
  useKey(name);
  return {
    cert,
    key,
    dir,
    useCert,
    useKey,
    [Symbol.dispose]: () => Deno.removeSync(dir, { recursive: true }),
  };
}

/**
 * Assert the certificate-reload contract of a TLS-terminating service started on
 * `certFiles("a.test")` in front of an echo: a reload that finds a certificate its key does
 * not match keeps the old one, a good pair serves new connections, and a live connection keeps
 * its session throughout.
 *
 * @param files The service's certificate files (they end up holding `b.test`).
 * @param addr Where the service listens.
 * @param reload Reload the certificate: true when the new one took, false when it was refused.
 * @returns Resolves when every check passed.
 * @example
 * ```ts
 * await assertCertReload(files, proxy.addr, () => proxy.reloadTls());
 * ```
 */
export async function assertCertReload(
  files: CertFiles,
  addr: string,
  reload: () => Promise<boolean>,
): Promise<void> {
  const live = await tlsDial(addr, "a.test");
  files.useCert("b.test"); // the key no longer matches
  assert.equal(await reload(), false, "a mismatched pair is refused");
  (await tlsDial(addr, "a.test")).close();
  files.useKey("b.test");
  assert.equal(await reload(), true, "a good pair is taken");
  await assert.rejects(() => tlsDial(addr, "a.test"), /not valid for name "a.test"/);
  (await tlsDial(addr, "b.test")).close();
  await assertEchoes(live, 2, "the live connection keeps its session");
  live.close();
}
