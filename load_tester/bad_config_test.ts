import { type BadConfigCase, badConfigTests } from "@monkey/testing/bad-config";
import { loadTestConfig } from "./config.ts";

const LOAD_TEST_CASES: BadConfigCase[] = [
  {
    name: "target without port",
    file: `target_addr = "3000"`,
    expect: /'target_addr' in .*expected host:port, got '3000'/,
  },
  {
    name: "zero connections",
    file: `connections = 0`,
    expect: /'connections' in .*>= 1.*got 0/,
  },
  {
    name: "duration as a word",
    file: `duration_secs = "forever"`,
    expect: /'duration_secs' in .*duration.*got 'forever'/,
  },
  {
    name: "size with a unit from space",
    file: `message_size = "1 parsec"`,
    expect: /'message_size' in .*size.*got '1 parsec'/,
  },
  {
    name: "unknown mode",
    file: `mode = "telepathy"`,
    expect: /'mode' in .*expected one of 'pingpong', 'churn', got 'telepathy'/,
  },
  {
    name: "unknown format",
    file: `format = "pdf"`,
    expect: /'format' in .*expected one of 'table', .*got 'pdf'/,
  },
  {
    name: "negative rate",
    file: `rate = -1`,
    expect: /'rate' in .*>= 0.*got -1/,
  },
  {
    name: "too many workers",
    file: `workers = 100000`,
    expect: /'workers' in .*<= 256.*got 100000/,
  },
  {
    name: "scenario with a bad value",
    file: `[[scenarios]]\nname = "a"\nconnections = "many"`,
    expect: /'scenarios\[0\]\.connections' in .*expected an integer, got 'many'/,
  },
  {
    name: "scenario with an unknown key",
    file: `[[scenarios]]\nname = "a"\nconections = 5`,
    expect: /Unknown key 'scenarios\[0\]\.conections' in .*got 5/,
  },
  {
    name: "connections flag",
    args: ["--connections=-5"],
    expect: /flag --connections: expected a value >= 1 and <= 100000, got '-5'/,
  },
  {
    name: "short flag with a negative value",
    args: ["-c", "-5"],
    expect:
      /flag --connections: a value starting with '-' must be written --connections=-5, got '-5'/,
  },
  {
    name: "duration flag",
    args: ["--duration", "10 parsecs"],
    expect: /flag --duration: .*got '10 parsecs'/,
  },
  {
    name: "[[scenario]] typo",
    file: `[[scenario]]\nname = "a"`,
    expect:
      /'scenario' in .*: scenario tables are written \[\[scenarios\]\] \(plural\).*got \[\[scenario\]\]/,
  },
  {
    name: "unknown template",
    args: ["--protocol", "raw", "--send", "x{{nope}}", "--expect", "line"],
    expect: /flag --send: unknown template '\{\{nope\}\}' \(known: \{\{conn\}\}/,
  },
  {
    name: "regex that does not compile",
    args: ["--protocol", "raw", "--send", "PING\\r\\n", "--expect", "regex:(+"],
    expect: /flag --expect: the regex does not compile .*got 'regex:\(\+'/,
  },
  {
    name: "raw without expect",
    args: ["--protocol", "raw", "--send", "PING"],
    expect: /flag --expect: protocol raw needs it .*got nothing/,
  },
  {
    name: "pipeline zero",
    args: ["--protocol", "redis", "--pipeline", "0"],
    expect: /flag --pipeline: expected a value >= 1 .*got '0'/,
  },
  {
    name: "pipeline with echo",
    args: ["--pipeline", "4"],
    expect: /flag --pipeline: protocol echo sends one message at a time.*got '4'/,
  },
  {
    name: "unknown protocol",
    file: `protocol = "gopher"`,
    expect: /'protocol' in .*expected one of 'echo', 'redis', 'http', 'raw', got 'gopher'/,
  },
  {
    name: "bad redis template",
    args: ["--protocol", "redis", "--command", "SET k {{rand:0}}"],
    expect: /flag --command: rand:N needs 1 <= N .*got '\{\{rand:0\}\}'/,
  },
  {
    name: "bad http request",
    args: ["--protocol", "http", "--request", "/index.html"],
    expect: /flag --request: expected 'METHOD \/path'.*got '\/index.html'/,
  },
  {
    name: "bad expect-status",
    args: ["--protocol", "http", "--expect-status", "ok"],
    expect: /flag --expect-status: expected codes or classes.*got 'ok'/,
  },
  {
    name: "tls_ca without tls",
    file: `tls_ca = "ca.pem"`,
    expect: /'tls_ca' in .*: it needs tls = true \(--tls\), got tls = false/,
  },
  {
    name: "missing tls_ca file",
    args: ["--tls", "--tls-ca", "/no/such/ca.pem"],
    expect: /Cannot read 'tls_ca' in flags: no such file, got '\/no\/such\/ca\.pem'/,
  },
  {
    name: "tls_server_name not a host name",
    file: `tls = true\ntls_server_name = "a b"`,
    expect: /'tls_server_name' in .*: expected a host name, got 'a b'/,
  },
];

badConfigTests({
  service: "load tester",
  load: (args) => loadTestConfig(args),
  cases: LOAD_TEST_CASES,
  serviceKeys: false,
  command: [
    "run",
    "--allow-net",
    "--allow-read",
    "--allow-write",
    "--allow-sys",
    "--allow-env",
    "load_tester/main.ts",
  ],
  exitCases: [
    "unknown mode",
    "scenario with a bad value",
    "missing file",
    "unknown flag",
    "unknown template",
    "regex that does not compile",
    "raw without expect",
    "pipeline zero",
    "missing tls_ca file",
  ],
});
