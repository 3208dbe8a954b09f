import assert from "node:assert/strict";
import { formatBytes, formatMicros } from "../../config/units.ts";
import { DASHBOARD_JS, FORMAT_JS } from "./assets.ts";

Deno.test("page scripts format bytes and durations with the server's own functions", () => {
  const [fmtBytes, fmtMicros, fmtValue] = new Function(
    `${FORMAT_JS}\nreturn [fmtBytes, fmtMicros, fmtValue];`,
  )() as ((value: number, unit?: string) => string)[];
  for (const n of [0, 512.4, 1023, 1024, 1600, 5e6, 3e9, 7e12]) {
    assert.equal(fmtBytes!(n), formatBytes(n), `bytes ${n}`);
    assert.equal(fmtValue!(n, "bytes"), formatBytes(n), `value ${n}`);
  }
  for (const n of [0, 850, 1500, 999_999, 3_200_000]) {
    assert.equal(fmtMicros!(n), formatMicros(n), `micros ${n}`);
  }
  assert.equal(fmtBytes!(512.4), "512B");
  assert.ok(DASHBOARD_JS.startsWith(FORMAT_JS));
});
