// Reads and sets one TCP socket's congestion control algorithm
// (TCP_CONGESTION, tcp(7)), which Node does not expose. The replication link
// asks for its own instead of the host's default: a host set to BBR for its
// Internet-facing services would otherwise pace a LAN replication stream to
// BBR's bandwidth estimate. Thin: the socket is Node's, found by its fd.
#define _GNU_SOURCE
#include <node_api.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define NAME_MAX_LEN 16 // TCP_CA_NAME_MAX in the kernel, terminating NUL included

// An Error with the errno's name in `code` (ENOENT: no such algorithm; EPERM: not allowed to this process).
static napi_value throw_errno(napi_env env, const char *what, int err) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_value code, text, error;
  const char *name = err == ENOENT ? "ENOENT" : err == EPERM ? "EPERM" : err == EBADF ? "EBADF" : err == ENOTSOCK ? "ENOTSOCK" : err == ENOPROTOOPT ? "ENOPROTOOPT" : "EIO";
  if (napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code) != napi_ok ||
      napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &text) != napi_ok ||
      napi_create_error(env, code, text, &error) != napi_ok) {
    napi_throw_error(env, NULL, msg);
    return NULL;
  }
  napi_throw(env, error);
  return NULL;
}

// The fd argument, checked to be a TCP stream socket (a wrong fd must never get a TCP option); -1 with a JS error thrown.
static int tcp_fd(napi_env env, napi_callback_info info, size_t n, napi_value *argv) {
  size_t argc = n;
  int32_t fd;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < n || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, NULL, "tcp-congestion: the first argument must be a socket's file descriptor (an integer >= 0)");
    return -1;
  }
  int type = 0, protocol = 0;
  socklen_t len = sizeof type;
  int err = 0;
  const char *what = NULL;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0) err = errno, what = "getsockopt(SO_TYPE)";
  len = sizeof protocol;
  if (err == 0 && getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &protocol, &len) < 0) err = errno, what = "getsockopt(SO_PROTOCOL)";
  if (err == 0 && (type != SOCK_STREAM || protocol != IPPROTO_TCP)) err = ENOPROTOOPT, what = "not a TCP socket";
  if (err == 0) return fd;
  throw_errno(env, what, err);
  return -1;
}

// get(fd): the algorithm's name.
static napi_value js_get(napi_env env, napi_callback_info info) {
  napi_value argv[1], out;
  int fd = tcp_fd(env, info, 1, argv);
  if (fd < 0) return NULL;
  char name[NAME_MAX_LEN + 1] = {0};
  socklen_t len = NAME_MAX_LEN;
  if (getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, name, &len) < 0) return throw_errno(env, "getsockopt(TCP_CONGESTION)", errno);
  if (napi_create_string_utf8(env, name, strnlen(name, NAME_MAX_LEN), &out) != napi_ok) return NULL;
  return out;
}

// set(fd, name): the kernel loads the algorithm's module if it may (CAP_NET_ADMIN), else ENOENT.
static napi_value js_set(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int fd = tcp_fd(env, info, 2, argv);
  if (fd < 0) return NULL;
  char name[NAME_MAX_LEN + 1];
  size_t len = 0;
  if (napi_get_value_string_utf8(env, argv[1], name, sizeof name, &len) != napi_ok || len == 0 || len >= NAME_MAX_LEN) {
    napi_throw_type_error(env, NULL, "tcp-congestion: the algorithm must be a name of 1 to 15 characters");
    return NULL;
  }
  if (setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, name, (socklen_t)len) < 0) return throw_errno(env, "setsockopt(TCP_CONGESTION)", errno);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"get", NULL, js_get, NULL, NULL, NULL, napi_default, NULL},
      {"set", NULL, js_set, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
