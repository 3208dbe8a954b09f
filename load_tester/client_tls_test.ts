import { ConfigError, ConnectError } from "@monkey/shared";
import { requires, startTlsEcho, TLS_TESTDATA } from "@monkey/testing";
import assert from "node:assert/strict";
import { clientTlsFrom } from "./client_tls.ts";
import { loadTestCli } from "./cli.ts";
import { runScenario } from "./runner.ts";

const NEEDS = requires("read", "env", "sys");
const CA = `${TLS_TESTDATA}ca.pem`;
const OTHER_CA = `${TLS_TESTDATA}other_ca.pem`;

const SCENARIO = {
  name: "tls",
  mode: "pingpong" as const,
  connections: 3,
  duration_secs: 0.3,
  message_size: 1024,
  rate: 0,
  warmup_secs: 0,
};

/** The CLI in this process: exit code, stdout and stderr. */
async function cli(args: string[]) {
  let stdout = "";
  let stderr = "";
  const code = await loadTestCli(["--config=/dev/null", "--progress=false", ...args], {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
  });
  return { code, stdout, stderr };
}

Deno.test(
  "TLS ping-pong against a TLS echo server: every byte verified, no error",
  NEEDS,
  async () => {
    await using server = startTlsEcho("localhost");
    for (const engine of ["auto", "deno", "epoll"] as const) {
      const result = await runScenario(SCENARIO, {
        target: server.addr,
        engine, // epoll falls back to deno: TLS runs on Deno's sockets
        tls: { caCerts: [Deno.readTextFileSync(CA)], sni: "localhost", insecure: false },
      });
      assert.ok(result.requests > 0, `${engine}: no request completed`);
      assert.equal(result.errors.total, 0, `${engine}: ${JSON.stringify(result.errors)}`);
    }
  },
);

Deno.test("TLS: a certificate from an untrusted CA fails the first connect", NEEDS, async () => {
  await using server = startTlsEcho("localhost");
  await assert.rejects(
    runScenario(SCENARIO, {
      target: server.addr,
      tls: { caCerts: [Deno.readTextFileSync(OTHER_CA)], sni: "localhost", insecure: false },
    }),
    (error: unknown) => error instanceof ConnectError && /certificate|issuer/i.test(error.message),
  );
  // The wrong name fails too, and skipping verification connects anyway.
  await assert.rejects(
    runScenario(SCENARIO, {
      target: server.addr,
      tls: { caCerts: [Deno.readTextFileSync(CA)], sni: "b.test", insecure: false },
    }),
    ConnectError,
  );
  const insecure = await runScenario(SCENARIO, {
    target: server.addr,
    tls: { caCerts: [], sni: undefined, insecure: true },
  });
  assert.ok(insecure.requests > 0);
  assert.equal(insecure.errors.total, 0);
});

Deno.test(
  "CLI --tls: the first line names the deno engine, --engine epoll says it falls back",
  NEEDS,
  async () => {
    await using server = startTlsEcho("localhost");
    const flags = ["--target", server.addr, "--tls", "--tls-ca", CA, "-c", "2", "-d", "0.3"];
    const run = await cli([...flags, "--engine", "epoll", "--tls-server-name", "localhost"]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stderr.split("\n")[0]!,
      /\(engine: deno, TLS; --engine epoll falls back: TLS needs the deno engine\)$/,
    );
    assert.match(run.stdout, /Errors: +0 \(0\.00%\)/);
    const auto = await cli([...flags, "--format", "json"]);
    assert.equal(auto.code, 0, auto.stderr);
    assert.match(auto.stderr.split("\n")[0]!, /\(engine: deno, TLS\)$/);
    assert.ok(JSON.parse(auto.stdout).scenarios[0].requests > 0);
  },
);

Deno.test("TLS keys in a TOML file: read like the flags", NEEDS, async () => {
  await using server = startTlsEcho("localhost");
  const file = Deno.makeTempFileSync({ suffix: ".toml" });
  try {
    Deno.writeTextFileSync(
      file,
      `target_addr = "${server.addr}"\ntls = true\ntls_ca = "${CA}"\n` +
        `tls_server_name = "localhost"\nconnections = 2\nduration_secs = 0.3\n`,
    );
    let stdout = "";
    const code = await loadTestCli(["--config", file, "--progress=false", "--format=json"], {
      stdout: (t) => void (stdout += t),
      stderr: () => {},
    });
    assert.equal(code, 0);
    assert.ok(JSON.parse(stdout).scenarios[0].requests > 0);
  } finally {
    Deno.removeSync(file);
  }
});

Deno.test("TLS keys: bad values are one config error naming the key", requires("read"), () => {
  const base = { tls: true, tls_insecure: false };
  assert.equal(clientTlsFrom({ tls: false, tls_insecure: false }, "flags"), undefined);
  assert.throws(
    () => clientTlsFrom({ tls: false, tls_ca: CA, tls_insecure: false }, "flags"),
    (e: unknown) =>
      e instanceof ConfigError && /'tls_ca' in flags: it needs tls = true/.test(e.message),
  );
  assert.throws(
    () => clientTlsFrom({ tls: false, tls_insecure: true }, "lt.toml"),
    (e: unknown) => e instanceof ConfigError && /'tls_insecure' in lt\.toml/.test(e.message),
  );
  assert.throws(
    () => clientTlsFrom({ ...base, tls_ca: "/no/such/ca.pem" }, "flags"),
    (e: unknown) =>
      e instanceof ConfigError && /Cannot read 'tls_ca' in flags: no such file/.test(e.message),
  );
  assert.throws(
    () => clientTlsFrom({ ...base, tls_server_name: "not a name" }, "flags"),
    (e: unknown) =>
      e instanceof ConfigError &&
      /'tls_server_name' in flags: expected a host name/.test(e.message),
  );
  const ok = clientTlsFrom({ ...base, tls_ca: CA, tls_server_name: "a.test" }, "flags");
  assert.equal(ok?.sni, "a.test");
  assert.match(ok?.caCerts[0] ?? "", /BEGIN CERTIFICATE/);
});
