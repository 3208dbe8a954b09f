// SPDX-License-Identifier: MIT
// Copyright (c) 2025-2026 The Monkey D. TCP authors (see LICENSE at the repository root).
//
// pingpong: the bench's reference client. CONNS connections to 127.0.0.1:PORT each send a
// SIZE-byte message, wait until SIZE bytes have come back, and send the next one (closed
// loop), for SECS seconds. One thread, epoll, non-blocking sockets: what a client costs at
// the least, so our load tester's numbers can be checked against it.
//
//   usage: pingpong PORT CONNS SIZE SECS
//   prints one line:
//     rps=N p50_us=N p99_us=N max_us=N errors=N MBps=N
//   rps: completed round trips per second; p50/p99/max: round-trip latency in microseconds;
//   errors: connections that failed to connect or broke; MBps: echoed payload, 10^6 bytes/s.

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { MAX_EVENTS = 256 };

struct conn {
  int fd;
  size_t sent, received; // progress of the current round trip
  uint64_t started_ns;   // when its first byte was sent
};

static int epfd;
static size_t size;
static char *message, *scratch;
static long errors;

// Round-trip latencies, in ns, in a growing array (sorted once at the end).
static uint64_t *samples;
static size_t sample_count, sample_cap;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what) {
  perror(what);
  exit(1);
}

static void record(uint64_t ns) {
  if (sample_count == sample_cap) {
    sample_cap = sample_cap ? sample_cap * 2 : 1 << 16;
    samples = realloc(samples, sample_cap * sizeof *samples);
    if (samples == NULL) die("realloc");
  }
  samples[sample_count++] = ns;
}

static void watch(struct conn *c, int op, uint32_t events) {
  struct epoll_event ev = {.events = events, .data.ptr = c};
  if (epoll_ctl(epfd, op, c->fd, &ev) < 0) die("epoll_ctl");
}

static void broken(struct conn *c) {
  errors++;
  close(c->fd);
  c->fd = -1;
}

// Send what is left of the message; once all is out, wait for the echo.
static void send_rest(struct conn *c) {
  while (c->sent < size) {
    ssize_t n = send(c->fd, message + c->sent, size - c->sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        watch(c, EPOLL_CTL_MOD, EPOLLOUT | EPOLLIN);
        return;
      }
      broken(c);
      return;
    }
    c->sent += (size_t)n;
  }
  watch(c, EPOLL_CTL_MOD, EPOLLIN);
}

static void start_round(struct conn *c) {
  c->sent = c->received = 0;
  c->started_ns = now_ns();
  send_rest(c);
}

static void receive(struct conn *c) {
  for (;;) {
    ssize_t n = recv(c->fd, scratch, size, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
      broken(c);
      return;
    }
    if (n < 0) return;
    c->received += (size_t)n;
    if (c->received > c->sent) { // more came back than was sent: not an echo
      broken(c);
      return;
    }
    if (c->received == size) {
      record(now_ns() - c->started_ns);
      start_round(c);
      return;
    }
  }
}

static int by_value(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

// Nearest-rank percentile of the sorted samples, in microseconds.
static double percentile_us(double p) {
  if (sample_count == 0) return 0;
  size_t rank = (size_t)(p * (double)sample_count + 0.999999);
  if (rank < 1) rank = 1;
  return (double)samples[rank - 1] / 1000.0;
}

static long parse(const char *text, const char *name, long min) {
  char *end;
  long value = strtol(text, &end, 10);
  if (*end != '\0' || value < min) {
    fprintf(stderr, "pingpong: %s must be an integer >= %ld, got '%s'\n", name, min, text);
    exit(2);
  }
  return value;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: %s PORT CONNS SIZE SECS\n", argv[0]);
    return 2;
  }
  long port = parse(argv[1], "PORT", 1);
  long conns = parse(argv[2], "CONNS", 1);
  size = (size_t)parse(argv[3], "SIZE", 1);
  char *end;
  double secs = strtod(argv[4], &end);
  if (*end != '\0' || !(secs > 0)) {
    fprintf(stderr, "pingpong: SECS must be a number > 0, got '%s'\n", argv[4]);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  message = malloc(size);
  scratch = malloc(size);
  struct conn *all = calloc((size_t)conns, sizeof *all);
  if (message == NULL || scratch == NULL || all == NULL) die("malloc");
  for (size_t i = 0; i < size; i++) message[i] = (char)('a' + i % 26);

  epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) die("epoll_create1");
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

  // Connect everything first (blocking: quick on loopback), then start every round at once.
  for (long i = 0; i < conns; i++) {
    struct conn *c = &all[i];
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
      if (c->fd >= 0) close(c->fd);
      c->fd = -1;
      errors++;
      continue;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK) < 0) die("fcntl");
    watch(c, EPOLL_CTL_ADD, EPOLLIN);
  }

  uint64_t begin = now_ns();
  uint64_t deadline = begin + (uint64_t)(secs * 1e9);
  for (long i = 0; i < conns; i++) {
    if (all[i].fd >= 0) start_round(&all[i]);
  }
  struct epoll_event events[MAX_EVENTS];
  for (;;) {
    uint64_t now = now_ns();
    if (now >= deadline) break;
    int timeout_ms = (int)((deadline - now) / 1000000u) + 1;
    int n = epoll_wait(epfd, events, MAX_EVENTS, timeout_ms);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int i = 0; i < n; i++) {
      struct conn *c = events[i].data.ptr;
      if (c->fd < 0) continue; // broke earlier in this batch
      if (c->sent < size && (events[i].events & EPOLLOUT)) send_rest(c);
      else receive(c);
    }
  }
  double elapsed = (double)(now_ns() - begin) / 1e9;

  qsort(samples, sample_count, sizeof *samples, by_value);
  double rps = (double)sample_count / elapsed;
  printf("rps=%.0f p50_us=%.1f p99_us=%.1f max_us=%.1f errors=%ld MBps=%.1f\n", rps,
         percentile_us(0.50), percentile_us(0.99), percentile_us(1.0), errors,
         rps * (double)size / 1e6);
  for (long i = 0; i < conns; i++) {
    if (all[i].fd >= 0) close(all[i].fd);
  }
  return 0;
}
