import { type EngineName, requires, testEachEngine, waitFor } from "@monkey/testing";
import assert from "node:assert/strict";
import { startTagged, tagOf } from "./_testing.ts";

const NEEDS = requires("run", "read", "write", "env");

const MAIN = new URL("./main.ts", import.meta.url).pathname;

function lbCommand(args: string[], env: Record<string, string> = {}, engine?: EngineName) {
  const perms = ["--allow-net", "--allow-read", "--allow-env=MONKEY_ADMIN_TOKEN"];
  if (engine === "epoll") perms.push("--allow-ffi");
  const engineFlag = engine === undefined ? [] : ["--engine", engine];
  return new Deno.Command(Deno.execPath(), {
    args: ["run", ...perms, MAIN, ...engineFlag, ...args],
    stdout: "piped",
    stderr: "piped",
    env,
  });
}

Deno.test("main.ts exits 2 with one stderr line for a bad config", NEEDS, async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/lb.toml`;
    await Deno.writeTextFile(path, 'strategy = "fastest"\n');
    const out = await lbCommand(["--config", path]).output();
    assert.equal(out.code, 2);
    const stderr = new TextDecoder().decode(out.stderr).trim();
    assert.equal(stderr.split("\n").length, 1, stderr);
    assert.match(stderr, /'strategy' in .*lb\.toml: expected one of/);

    await Deno.writeTextFile(
      path,
      '[[backends]]\naddr = "127.0.0.1:1"\n[[backends]]\naddr = "127.0.0.1:1"\n',
    );
    const dup = await lbCommand(["--config", path]).output();
    assert.equal(dup.code, 2);
    assert.match(new TextDecoder().decode(dup.stderr), /duplicate backend/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Collect a child's output lines as they come. */
function lines(stream: ReadableStream<Uint8Array>): { lines: string[]; done: Promise<void> } {
  const out: string[] = [];
  const done = (async () => {
    let rest = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      rest += chunk;
      const parts = rest.split("\n");
      rest = parts.pop()!;
      out.push(...parts);
    }
    if (rest) out.push(rest);
  })();
  return { lines: out, done };
}

testEachEngine(
  "SIGHUP rereads the file: backends change, live connections stay, a broken file is refused",
  async ({ engine }) => {
    const a = startTagged("a");
    const b = startTagged("b");
    const dir = await Deno.makeTempDir();
    const path = `${dir}/lb.toml`;
    const write = (addrs: string[], extra = "") =>
      Deno.writeTextFile(
        path,
        `listen_addr = "127.0.0.1:0"\nmetrics_addr = "127.0.0.1:0"\nmetrics_log_interval_secs = 0\n${extra}\n` +
          addrs.map((addr) => `[[backends]]\naddr = "${addr}"\n`).join(""),
      );
    await write([a.addr]);
    const child = lbCommand(["--config", path], {}, engine).spawn();
    const stdout = lines(child.stdout);
    const stderr = lines(child.stderr);
    try {
      await waitFor(() => stdout.lines.some((l) => l.includes("balancing")), "banner", 15_000);
      const banner = stdout.lines.find((l) => l.includes("balancing"))!;
      const lbAddr = /balancing (\S+) ->/.exec(banner)![1]!;
      const metricsAddr = /metrics on http:\/\/(\S+)\/metrics/.exec(banner)![1]!;

      const [host, port] = [lbAddr.slice(0, lbAddr.lastIndexOf(":")), Number(lbAddr.split(":")[1])];
      const live = await Deno.connect({ hostname: host, port });
      const buf = new Uint8Array(2);
      await live.read(buf);
      assert.equal(new TextDecoder().decode(buf), "a\n");

      await write([b.addr]);
      child.kill("SIGHUP");
      await waitFor(() => stdout.lines.some((l) => l.includes("reloaded")), "reload line");
      assert.equal(await tagOf(lbAddr), "b");
      const json = await (await fetch(`http://${metricsAddr}/metrics?format=json`)).json();
      assert.equal(json.engine, engine);
      const rows = await (await fetch(`http://${metricsAddr}/backends`)).json();
      assert.deepEqual(
        rows.map((r: { addr: string; state: string }) => `${r.addr} ${r.state}`),
        [`${a.addr} draining`, `${b.addr} up`],
      );
      // The connection to the dropped backend still works.
      await live.write(new TextEncoder().encode("hi"));
      await live.read(buf);
      assert.equal(new TextDecoder().decode(buf), "hi");

      await Deno.writeTextFile(path, 'strategy = "fastest"\n');
      child.kill("SIGHUP");
      await waitFor(() => stderr.lines.some((l) => l.includes("reload rejected")), "rejection");
      assert.equal(stderr.lines.filter((l) => l.includes("reload rejected")).length, 1);
      assert.equal(await tagOf(lbAddr), "b");
      live.close();
    } finally {
      child.kill("SIGTERM");
      const status = await child.status;
      await Promise.all([stdout.done, stderr.done]);
      await Promise.all([a.close(), b.close()]);
      await Deno.remove(dir, { recursive: true });
      assert.equal(status.code, 0);
    }
  },
  NEEDS,
);
