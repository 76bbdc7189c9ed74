// Receives raw IPv6 packets of one protocol on one interface together with
// what recvfrom(2) hides and raw-socket cannot show: the hop limit and the
// destination address (IPV6_RECVHOPLIMIT / IPV6_RECVPKTINFO ancillary data,
// RFC 3542 6). An IPv6 raw socket never delivers the IP header, and the
// kernel applies IPV6_MINHOPCOUNT to TCP only, so RFC 5798 7.1 checks on
// hop limit and destination need recvmsg(2). Thin: no VRRP knowledge here.
#define _GNU_SOURCE
#include <node_api.h>
#include <uv.h>
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct {
  int fd;
  int polling;     // the poll handle is initialised: libuv holds it until uv_close's callback
  int closed;
  int finalized;   // JS let go of the handle
  int poll_closed; // libuv let go of the poll handle
  napi_env env;
  napi_ref on_packet;
  napi_ref on_error;
  napi_async_context async;
  uv_poll_t poll;
  unsigned char buf[65536];
} receiver_t;

#define CHECK(call)                                                   \
  do {                                                                \
    if ((call) != napi_ok) {                                          \
      napi_throw_error(env, NULL, "recv6: N-API call failed: " #call); \
      return NULL;                                                    \
    }                                                                 \
  } while (0)

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_throw_error(env, NULL, msg);
  return NULL;
}

static receiver_t *unwrap(napi_env env, napi_value v) {
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok || p == NULL) {
    napi_throw_type_error(env, NULL, "recv6: not a receiver handle");
    return NULL;
  }
  return (receiver_t *)p;
}

// The memory goes when neither JS nor libuv holds it any more.
static void release(receiver_t *r) {
  if (r->finalized && (!r->polling || r->poll_closed)) free(r);
}

// The call's `n` arguments into argv, the first one a receiver handle: that receiver, or NULL with a JS error thrown.
static receiver_t *receiver_args(napi_env env, napi_callback_info info, size_t n, napi_value *argv) {
  size_t argc = n;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) {
    napi_throw_error(env, NULL, "recv6: N-API call failed: napi_get_cb_info");
    return NULL;
  }
  if (argc < n) {
    napi_throw_type_error(env, NULL, "recv6: too few arguments");
    return NULL;
  }
  return unwrap(env, argv[0]);
}

static void on_poll_closed(uv_handle_t *h) {
  receiver_t *r = h->data;
  r->poll_closed = 1;
  release(r);
}

// Stops reading and closes the socket (once).
static void shut(receiver_t *r) {
  if (r->closed) return;
  r->closed = 1;
  if (r->on_packet != NULL) napi_delete_reference(r->env, r->on_packet);
  if (r->on_error != NULL) napi_delete_reference(r->env, r->on_error);
  if (r->async != NULL) napi_async_destroy(r->env, r->async);
  r->on_packet = r->on_error = NULL;
  r->async = NULL;
  if (r->polling) {
    uv_poll_stop(&r->poll);
    uv_close((uv_handle_t *)&r->poll, on_poll_closed);
  }
  close(r->fd);
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  receiver_t *r = data;
  shut(r); // dropped without close(): the socket must not outlive its handle
  r->finalized = 1;
  release(r);
}

static void call_js(receiver_t *r, napi_ref which, size_t argc, napi_value *argv) {
  napi_value fn, recv, result;
  if (napi_get_reference_value(r->env, which, &fn) != napi_ok) return;
  napi_get_global(r->env, &recv); // napi_make_callback needs an object as `this`
  if (napi_make_callback(r->env, r->async, recv, fn, argc, argv, &result) == napi_pending_exception) {
    napi_value err;
    napi_get_and_clear_last_exception(r->env, &err);
    napi_fatal_exception(r->env, err);
  }
}

static void report_error(receiver_t *r, int err, int fatal) {
  napi_handle_scope scope;
  napi_open_handle_scope(r->env, &scope);
  napi_value argv[2];
  napi_create_string_utf8(r->env, strerror(err), NAPI_AUTO_LENGTH, &argv[0]);
  napi_get_boolean(r->env, fatal, &argv[1]);
  call_js(r, r->on_error, 2, argv);
  napi_close_handle_scope(r->env, scope);
}

// One packet to JS: (payload, source, destination, hop limit); -1 / '' when the kernel gave no such data.
static void deliver(receiver_t *r, ssize_t n, const struct sockaddr_in6 *src, const struct msghdr *msg) {
  char src_text[INET6_ADDRSTRLEN] = "", dst_text[INET6_ADDRSTRLEN] = "";
  int hop_limit = -1;
  inet_ntop(AF_INET6, &src->sin6_addr, src_text, sizeof src_text);
  for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c != NULL; c = CMSG_NXTHDR((struct msghdr *)msg, c)) {
    if (c->cmsg_level != IPPROTO_IPV6) continue;
    if (c->cmsg_type == IPV6_HOPLIMIT && c->cmsg_len >= CMSG_LEN(sizeof(int))) {
      memcpy(&hop_limit, CMSG_DATA(c), sizeof(int));
    } else if (c->cmsg_type == IPV6_PKTINFO && c->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo))) {
      struct in6_pktinfo info;
      memcpy(&info, CMSG_DATA(c), sizeof info);
      inet_ntop(AF_INET6, &info.ipi6_addr, dst_text, sizeof dst_text);
    }
  }
  napi_handle_scope scope;
  napi_open_handle_scope(r->env, &scope);
  napi_value argv[4];
  void *copy;
  napi_create_buffer_copy(r->env, (size_t)n, r->buf, &copy, &argv[0]);
  napi_create_string_utf8(r->env, src_text, NAPI_AUTO_LENGTH, &argv[1]);
  napi_create_string_utf8(r->env, dst_text, NAPI_AUTO_LENGTH, &argv[2]);
  napi_create_int32(r->env, hop_limit, &argv[3]);
  call_js(r, r->on_packet, 4, argv);
  napi_close_handle_scope(r->env, scope);
}

static void on_readable(uv_poll_t *h, int status, int events) {
  receiver_t *r = h->data;
  if (r->closed) return;
  if (status < 0) {
    report_error(r, -status, 1);
    shut(r);
    return;
  }
  if (!(events & UV_READABLE)) return;
  // Everything queued now, then back to the loop; JS may close us in a callback.
  while (!r->closed) {
    struct sockaddr_in6 src;
    union {
      struct cmsghdr align;
      unsigned char bytes[CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(struct in6_pktinfo)) + 64];
    } control;
    struct iovec iov = {r->buf, sizeof r->buf};
    struct msghdr msg = {0};
    memset(&src, 0, sizeof src);
    msg.msg_name = &src;
    msg.msg_namelen = sizeof src;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.bytes;
    msg.msg_controllen = sizeof control.bytes;
    ssize_t n = recvmsg(r->fd, &msg, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) report_error(r, errno, 0);
      return;
    }
    deliver(r, n, &src, &msg);
  }
}

// open(protocol, device, checksumOffset): a raw IPv6 socket bound to the device, showing hop limit and
// destination; checksumOffset >= 0 has the kernel verify (and drop) the checksum at that offset (IPV6_CHECKSUM).
static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint32_t protocol;
  int32_t checksum_offset;
  char device[IFNAMSIZ + 1];
  size_t len;
  if (argc < 3 || napi_get_value_uint32(env, argv[0], &protocol) != napi_ok ||
      napi_get_value_string_utf8(env, argv[1], device, sizeof device, &len) != napi_ok || len == 0 || len >= IFNAMSIZ ||
      napi_get_value_int32(env, argv[2], &checksum_offset) != napi_ok) {
    napi_throw_type_error(env, NULL, "recv6.open(protocol, device, checksumOffset): a protocol number, an interface name of 1..15 characters and an offset (-1: none)");
    return NULL;
  }
  int fd = socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, (int)protocol);
  if (fd < 0) return throw_errno(env, "socket(AF_INET6, SOCK_RAW)", errno);
  int on = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, device, (socklen_t)len + 1) < 0 ||
      (checksum_offset >= 0 && setsockopt(fd, IPPROTO_IPV6, IPV6_CHECKSUM, &checksum_offset, sizeof checksum_offset) < 0) ||
      setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &on, sizeof on) < 0 ||
      setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on) < 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "setsockopt on the IPv6 raw socket", err);
  }
  // What arrived before those options held (any interface, checksum unchecked, no ancillary data) is dropped.
  unsigned char scratch[1];
  while (recv(fd, scratch, sizeof scratch, MSG_DONTWAIT | MSG_TRUNC) >= 0) {
  }
  receiver_t *r = calloc(1, sizeof *r);
  if (r == NULL) {
    close(fd);
    return throw_errno(env, "recv6.open", ENOMEM);
  }
  r->fd = fd;
  r->env = env;
  napi_value handle;
  if (napi_create_external(env, r, finalize, NULL, &handle) != napi_ok) {
    close(fd);
    free(r);
    napi_throw_error(env, NULL, "recv6: cannot create the handle");
    return NULL;
  }
  return handle;
}

// setOption(handle, level, name, buffer): setsockopt(2) with the buffer's bytes.
static napi_value js_set_option(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  receiver_t *r = receiver_args(env, info, 4, argv);
  if (r == NULL) return NULL;
  int32_t level, name;
  void *data;
  size_t len;
  if (napi_get_value_int32(env, argv[1], &level) != napi_ok || napi_get_value_int32(env, argv[2], &name) != napi_ok ||
      napi_get_buffer_info(env, argv[3], &data, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "recv6.setOption(handle, level, name, buffer)");
    return NULL;
  }
  if (r->closed) {
    napi_throw_error(env, NULL, "recv6: the socket is closed");
    return NULL;
  }
  if (setsockopt(r->fd, level, name, data, (socklen_t)len) < 0) return throw_errno(env, "setsockopt", errno);
  return NULL;
}

// start(handle, onPacket(payload, src, dst, hopLimit), onError(message, fatal)).
static napi_value js_start(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  receiver_t *r = receiver_args(env, info, 3, argv);
  if (r == NULL) return NULL;
  if (r->closed || r->polling) {
    napi_throw_error(env, NULL, "recv6: start on a closed or started socket");
    return NULL;
  }
  uv_loop_t *loop;
  napi_value name;
  CHECK(napi_get_uv_event_loop(env, &loop));
  CHECK(napi_create_reference(env, argv[1], 1, &r->on_packet));
  CHECK(napi_create_reference(env, argv[2], 1, &r->on_error));
  CHECK(napi_create_string_utf8(env, "tandem.recv6", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_async_init(env, NULL, name, &r->async));
  int rc = uv_poll_init(loop, &r->poll, r->fd);
  if (rc < 0) return throw_errno(env, "uv_poll_init", -rc);
  r->poll.data = r;
  r->polling = 1;
  rc = uv_poll_start(&r->poll, UV_READABLE, on_readable);
  if (rc < 0) return throw_errno(env, "uv_poll_start", -rc);
  return NULL;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  receiver_t *r = receiver_args(env, info, 1, argv);
  if (r == NULL) return NULL;
  shut(r);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
      {"setOption", NULL, js_set_option, NULL, NULL, NULL, napi_default, NULL},
      {"start", NULL, js_start, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
