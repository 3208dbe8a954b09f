import assert from "node:assert/strict";
import { requires } from "@monkey/testing";

const DIR = new URL("./kubernetes/", import.meta.url);
const NEEDS = requires("read");

function read(name: string): string {
  return Deno.readTextFileSync(new URL(name, DIR));
}

/** The values of every `key: value` line (no YAML parser is in the lock). */
function values(yaml: string, key: string): string[] {
  return [...yaml.matchAll(new RegExp(`^\\s*-?\\s*${key}:\\s*(\\S.*)$`, "gm"))].map((m) =>
    m[1]!.trim()
  );
}

Deno.test(
  "the Indexed Job runs N shards with auto/N, the start time and the shared volume",
  NEEDS,
  () => {
    const job = read("job.yaml");
    assert.deepEqual(values(job, "completionMode"), ["Indexed"]);
    const [completions] = values(job, "completions");
    assert.deepEqual(values(job, "parallelism"), [completions]);
    assert.match(job, new RegExp(`- auto/${completions}\\n`), "--shard auto/N matches completions");
    assert.match(job, /- --shard\n\s+- auto\//);
    assert.match(job, /- --start-at\n\s+- \$\(START_AT\)/);
    assert.match(job, /shard-\$\(JOB_COMPLETION_INDEX\)\.json/);
    const merge = read("merge-job.yaml");
    for (let k = 0; k < Number(completions); k++) {
      assert.match(
        merge,
        new RegExp(`shard-${k}\\.json`),
      );
    }
    assert.doesNotMatch(merge, new RegExp(`shard-${completions}\\.json`));
  },
);

Deno.test("the Jobs name the same image, scenario ConfigMap and results volume", NEEDS, () => {
  const job = read("job.yaml");
  const merge = read("merge-job.yaml");
  const images = [...values(job, "image"), ...values(merge, "image")];
  assert.equal(new Set(images).size, 1, `images ${images}`);
  assert.match(
    Deno.readTextFileSync(new URL("../Containerfile", DIR)),
    /npm install -g deno@2\.9\.6/,
  );
  assert.match(
    Deno.readTextFileSync(new URL("../README.md", DIR)),
    new RegExp(images[0]!.replace(/[.]/g, "\\.")),
  );
  const claim = values(read("volume.yaml"), "name")[0];
  assert.deepEqual(values(job, "claimName"), [claim]);
  assert.deepEqual(values(merge, "claimName"), [claim]);
  const scenarioMap = values(read("configmap.yaml"), "name")[0]!;
  assert.ok(values(job, "name").includes(scenarioMap));
  assert.match(read("configmap.yaml"), /load_test\.toml: \|/);
  assert.match(job, /\/config\/load_test\.toml/);
  assert.ok(values(job, "mountPath").includes("/results"));
  assert.ok(values(merge, "mountPath").includes("/results"));
});
