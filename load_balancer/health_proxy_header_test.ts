import assert from "node:assert/strict";
import { acceptLoop, readExactly, waitFor } from "@monkey/testing";
import { checkOnce } from "./health.ts";

const V2_SIGNATURE = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];

/** A backend that reads `n` bytes from each connection and hands them to the test. */
function headerCatcher(n: number) {
  const seen: Uint8Array[] = [];
  const loop = acceptLoop(async (conn) => {
    try {
      seen.push(await readExactly(conn, n));
    } catch {
      // closed before `n` bytes: nothing recorded
    }
  });
  return { addr: loop.addr, seen, close: () => loop.close() };
}

Deno.test("checkOnce sends 'PROXY UNKNOWN' on a connect-only check when proxy_protocol is v1", async () => {
  const header = "PROXY UNKNOWN\r\n";
  const backend = headerCatcher(header.length);
  try {
    const outcome = await checkOnce(backend.addr, { timeoutMs: 1000, proxyProtocol: "v1" });
    assert.equal(outcome.ok, true);
    await waitFor(() => backend.seen.length === 1, "the header at the backend", 2000);
    assert.equal(new TextDecoder().decode(backend.seen[0]), header);
  } finally {
    await backend.close();
  }
});

Deno.test("checkOnce sends a v2 LOCAL header on a connect-only check when proxy_protocol is v2", async () => {
  const backend = headerCatcher(16);
  try {
    const outcome = await checkOnce(backend.addr, { timeoutMs: 1000, proxyProtocol: "v2" });
    assert.equal(outcome.ok, true);
    await waitFor(() => backend.seen.length === 1, "the header at the backend", 2000);
    const bytes = [...backend.seen[0]!];
    assert.deepEqual(bytes.slice(0, 12), V2_SIGNATURE);
    assert.equal(bytes[12], 0x20, "version 2, command LOCAL");
    assert.equal(bytes[13], 0x00, "family UNSPEC");
  } finally {
    await backend.close();
  }
});
