import { type BadConfigCase, badConfigTests } from "@monkey/testing/bad-config";
import { loadLbConfig } from "./config.ts";

const LB_CASES: BadConfigCase[] = [
  {
    name: "unknown strategy",
    file: `strategy = "fastest"`,
    expect: /'strategy' in .*expected one of 'round_robin', .*got 'fastest'/,
  },
  {
    name: "backend address without port",
    file: `[[backends]]\naddr = "nowhere"`,
    expect: /'backends\[0\]\.addr' in .*got 'nowhere'/,
  },
  {
    name: "backend port 0",
    file: `[[backends]]\naddr = "127.0.0.1:0"`,
    expect: /'backends\[0\]\.addr' in .*port 1-65535, got '127\.0\.0\.1:0'/,
  },
  {
    name: "duplicate backend",
    file: `[[backends]]\naddr = "127.0.0.1:1"\n[[backends]]\naddr = "127.0.0.1:1"`,
    expect: /'backends\[1\]\.addr' in .*duplicate backend, got '127\.0\.0\.1:1'/,
  },
  {
    name: "backend without address",
    file: `[[backends]]\nweight = 2`,
    expect: /'backends\[0\]\.addr' in /,
  },
  {
    name: "weight 0",
    file: `[[backends]]\naddr = "127.0.0.1:1"\nweight = 0`,
    expect: /'backends\[0\]\.weight' in .*>= 1.*got 0/,
  },
  {
    name: "backends as a string",
    file: `backends = "127.0.0.1:1"`,
    expect: /'backends' in .*array of tables.*got '127\.0\.0\.1:1'/,
  },
  {
    name: "health check rise 0",
    file: `[health_check]\nrise = 0`,
    expect: /'health_check\.rise' in .*>= 1.*got 0/,
  },
  {
    name: "unknown health check key",
    file: `[health_check]\nintervall_ms = 5`,
    expect: /Unknown key 'health_check\.intervall_ms' in .*got 5/,
  },
  {
    name: "retries over the limit",
    file: `retries = 101`,
    expect: /'retries' in .*<= 100.*got 101/,
  },
  {
    name: "backend flag option",
    args: ["--backend", "127.0.0.1:1,weight=x"],
    expect: /flag --backend: expected an integer, got 'x'/,
  },
  {
    name: "backend flag unknown option",
    args: ["--backend", "127.0.0.1:1,fast"],
    expect: /flag --backend: expected ADDR.*got '127\.0\.0\.1:1,fast'/,
  },
  {
    name: "route to an unknown pool",
    file: `[[routes]]\nsni = "a.test"\npool = "nope"`,
    expect: /'routes\[0\]\.pool' in .*no such pool.*got 'nope'/,
  },
  {
    name: "invalid SNI pattern",
    file: `[pools.web]\n[[routes]]\nsni = "a.*.test"\npool = "web"`,
    expect: /'routes\[0\]\.sni' in .*host name.*got 'a\.\*\.test'/,
  },
  {
    name: "pool backend without address",
    file: `[pools.web]\n[[pools.web.backends]]\nweight = 2`,
    expect: /'pools\.web\.backends\[0\]\.addr' in /,
  },
  {
    name: "missing certificate file",
    file: `tls_cert = "/nonexistent/cert.pem"\ntls_key = "/nonexistent/key.pem"`,
    expect: /Cannot read 'tls_cert' in .*no such file, got '\/nonexistent\/cert\.pem'/,
  },
  {
    name: "epoll engine with TLS",
    file: `engine = "epoll"\nupstream_tls = true`,
    expect: /'engine' in .*TLS .*got 'epoll'/,
  },
];

badConfigTests({
  service: "load balancer",
  load: (args) => loadLbConfig(args),
  cases: LB_CASES,
  command: ["run", "--allow-net", "--allow-read", "--allow-env", "load_balancer/main.ts"],
  exitCases: [
    "unknown strategy",
    "duplicate backend",
    "binary garbage",
    "unknown flag",
    "route to an unknown pool",
    "missing certificate file",
  ],
});
