// SPDX-License-Identifier: MIT
// Copyright (c) 2025-2026 The Monkey D. TCP authors (see LICENSE at the repository root).
//
// echo_srv: the bench's reference echo server. One thread, epoll (level-triggered),
// non-blocking sockets: whatever a client sends is written back. It is the fastest backend a
// proxy can have on one core, so a proxy's numbers measure the proxy and not the backend.
//
//   usage: echo_srv PORT        (listens on 127.0.0.1 only; PORT 0 picks a free port)
//   prints: "listening 127.0.0.1:PORT" once it accepts connections; runs until killed.

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

enum { BUF_SIZE = 64 * 1024, MAX_EVENTS = 256, BACKLOG = 4096 };

// One client: bytes read but not yet written back wait in buf[off..len).
struct conn {
  int fd;
  size_t off, len;
  char buf[BUF_SIZE];
};

static int epfd;

static void die(const char *what) {
  perror(what);
  exit(1);
}

static void watch(struct conn *c, int op, uint32_t events) {
  struct epoll_event ev = {.events = events, .data.ptr = c};
  if (epoll_ctl(epfd, op, c->fd, &ev) < 0) die("epoll_ctl");
}

static void drop(struct conn *c) {
  close(c->fd); // also removes it from the epoll set
  free(c);
}

// Write out what is pending. Returns 0 when all is written, 1 when the socket is full,
// -1 when the client is gone.
static int flush(struct conn *c) {
  while (c->off < c->len) {
    ssize_t n = send(c->fd, c->buf + c->off, c->len - c->off, MSG_NOSIGNAL);
    if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 1 : -1;
    c->off += (size_t)n;
  }
  c->off = c->len = 0;
  return 0;
}

static void on_readable(struct conn *c) {
  ssize_t n = recv(c->fd, c->buf, BUF_SIZE, 0);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
    drop(c);
    return;
  }
  if (n < 0) return;
  c->len = (size_t)n;
  int state = flush(c);
  if (state < 0) drop(c);
  else if (state == 1) watch(c, EPOLL_CTL_MOD, EPOLLOUT); // stop reading until it drains
}

static void on_writable(struct conn *c) {
  int state = flush(c);
  if (state < 0) drop(c);
  else if (state == 0) watch(c, EPOLL_CTL_MOD, EPOLLIN);
}

static void accept_all(int listener) {
  for (;;) {
    int fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (errno == EMFILE || errno == ENFILE) return; // try again on the next event
      continue; // ECONNABORTED and friends: that client is gone
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct conn *c = malloc(sizeof *c);
    if (c == NULL) {
      close(fd);
      continue;
    }
    c->fd = fd;
    c->off = c->len = 0;
    watch(c, EPOLL_CTL_ADD, EPOLLIN);
  }
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s PORT\n", argv[0]);
    return 2;
  }
  char *end;
  long port = strtol(argv[1], &end, 10);
  if (*end != '\0' || port < 0 || port > 65535) {
    fprintf(stderr, "echo_srv: PORT must be 0-65535, got '%s'\n", argv[1]);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);

  int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listener < 0) die("socket");
  int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(listener, (struct sockaddr *)&addr, sizeof addr) < 0) die("bind 127.0.0.1");
  if (listen(listener, BACKLOG) < 0) die("listen");
  socklen_t addr_len = sizeof addr;
  if (getsockname(listener, (struct sockaddr *)&addr, &addr_len) < 0) die("getsockname");

  epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) die("epoll_create1");
  // The listener is told apart from clients by a NULL data pointer.
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, listener, &ev) < 0) die("epoll_ctl listener");

  printf("listening 127.0.0.1:%d\n", ntohs(addr.sin_port));
  fflush(stdout);

  struct epoll_event events[MAX_EVENTS];
  for (;;) {
    int n = epoll_wait(epfd, events, MAX_EVENTS, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int i = 0; i < n; i++) {
      struct conn *c = events[i].data.ptr;
      if (c == NULL) accept_all(listener);
      else if (events[i].events & EPOLLOUT) on_writable(c);
      else on_readable(c); // EPOLLIN, EPOLLHUP, EPOLLERR: recv tells which
    }
  }
}
