import { loadConfig } from "@monkey/shared";
import { type BadConfigCase, badConfigTests } from "@monkey/testing/bad-config";
import { PROXY_SCHEMA } from "./config.ts";

const PROXY_CASES: BadConfigCase[] = [
  {
    name: "target port out of range",
    file: `target_addr = "127.0.0.1:99999"`,
    expect: /'target_addr' in .*port number 0-65535, got '127\.0\.0\.1:99999'/,
  },
  {
    name: "bad IPv6 target",
    file: `target_addr = "[::g]:80"`,
    expect: /'target_addr' in .*IPv6.*got '\[::g\]:80'/,
  },
  {
    name: "listen address without port",
    file: `listen_addr = "127.0.0.1"`,
    expect: /'listen_addr' in .*got '127\.0\.0\.1'/,
  },
  {
    name: "unknown relay",
    file: `relay = "warp-drive"`,
    expect: /'relay' in .*expected one of 'loop', 'streams', got 'warp-drive'/,
  },
  {
    name: "unknown PROXY protocol version",
    file: `proxy_protocol = "v3"`,
    expect: /'proxy_protocol' in .*expected one of 'off', 'v1', 'v2', got 'v3'/,
  },
  {
    name: "zero connect timeout",
    file: `connect_timeout_ms = 0`,
    expect: /'connect_timeout_ms' in .*>= 1.*got 0/,
  },
  {
    name: "bad CIDR prefix",
    file: `allow = ["10.0.0.0/33"]`,
    expect: /'allow\[0\]' in .*prefix length 0-32.*got '10\.0\.0\.0\/33'/,
  },
  {
    name: "deny not an array",
    file: `deny = "10.0.0.0/8"`,
    expect: /'deny' in .*expected an array of strings, got '10\.0\.0\.0\/8'/,
  },
  {
    name: "relay flag",
    args: ["--relay", "warp-drive"],
    expect: /flag --relay: expected one of 'loop', 'streams', got 'warp-drive'/,
  },
  {
    name: "max connections flag",
    args: ["--max-connections", "lots"],
    expect: /flag --max-connections: expected an integer, got 'lots'/,
  },
];

badConfigTests({
  service: "proxy",
  load: (args) => loadConfig(PROXY_SCHEMA, { args }),
  cases: PROXY_CASES,
  command: ["run", "--allow-net", "--allow-read", "proxy/main.ts"],
  exitCases: ["duplicate key", "NUL bytes", "directory as file", "bad CIDR prefix"],
});
