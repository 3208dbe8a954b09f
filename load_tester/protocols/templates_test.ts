import assert from "node:assert/strict";
import { ConfigError } from "@monkey/shared";
import { ByteBuffer, escapeSample } from "./_buffer.ts";
import { Template, unescapeBytes } from "./templates.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);

Deno.test("unescapeBytes() turns \\r \\n \\t \\xNN and \\\\ into bytes", () => {
  assert.deepEqual([...unescapeBytes("a\\r\\n\\t\\x41\\\\", "t")], [97, 13, 10, 9, 0x41, 0x5c]);
  assert.throws(() => unescapeBytes("\\xZZ", "flag --send"), /flag --send: '\\x' needs two hex/);
});

Deno.test("Template renders conn, seq, rand and bytes into a reused buffer", () => {
  const t = Template.parse("c={{conn}} s={{seq}} r={{rand:10}} b={{bytes:5}}\\n", "t");
  assert.equal(t.fixed, undefined);
  const out = new ByteBuffer(8);
  t.render(out, { conn: 3, seq: 120 });
  const m = /^c=3 s=120 r=(\d) b=([!-~]{5})\n$/.exec(text(out.view()));
  assert.ok(m, text(out.view()));
  const before = out.bytes;
  out.reset();
  t.render(out, { conn: 3, seq: 121 });
  assert.equal(out.bytes, before, "the buffer is reused once big enough");
});

Deno.test("Template without placeholders is rendered once", () => {
  const t = Template.parse("PING\\r\\n", "t");
  assert.equal(text(t.fixed!), "PING\r\n");
});

Deno.test("Template rejects unknown placeholders and zero counts with one line", () => {
  assert.throws(
    () => Template.parse("{{uuid}}", "flag --send"),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.message === "Cannot parse flag --send: unknown template '{{uuid}}' " +
          "(known: {{conn}}, {{seq}}, {{rand:N}}, {{bytes:N}})",
  );
  assert.throws(() => Template.parse("{{bytes:0}}", "flag --send"), /bytes:N needs 1 <= N/);
});

Deno.test("{{bytes:N}} of 64 KiB renders printable bytes that differ between requests", () => {
  const t = Template.parse("{{bytes:65536}}", "t");
  const a = new ByteBuffer();
  const b = new ByteBuffer();
  t.render(a, { conn: 0, seq: 0 });
  let differs = false;
  for (let i = 0; i < 5 && !differs; i++) {
    b.reset();
    t.render(b, { conn: 0, seq: 1 });
    differs = text(a.view()) !== text(b.view());
  }
  assert.equal(a.length, 65536);
  assert.ok(a.view().every((c) => c >= 0x21 && c <= 0x7e));
  assert.ok(differs);
});

Deno.test("escapeSample() escapes control bytes and cuts long samples", () => {
  assert.equal(escapeSample(new Uint8Array([0x2d, 0x45, 0x0d, 0x0a, 0x01])), "-E\\r\\n\\x01");
  assert.match(escapeSample(new Uint8Array(100).fill(0x61)), /^a{48}\.\.\.$/);
});
