// frame.c: reading and writing frames on the sync socket, decoding their
// payloads, and dying with an error message. Frames are described in
// doc.go; frame.go is the Go side and must agree with this file.

#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "frame.h"

// Nothing this side sends is large: a pid, or an error message.
#define SEND_MAX 4096

struct header {
	uint32_t len;
	uint32_t type;
};

int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

// send_all is write_all for the sync socket: MSG_NOSIGNAL turns a parent
// that went away into EPIPE instead of a SIGPIPE that would kill us before
// we could exit with the right status. fd may also be a pipe or a file
// (tests pass stdout), which send refuses with ENOTSOCK.
static int send_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == ENOTSOCK)
			return write_all(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

// frame_send writes one frame with a single write, so frames written by
// two processes sharing the socket (the bootstrap's intermediate and its
// child) cannot interleave.
int frame_send(int fd, uint32_t type, const void *payload, uint32_t len)
{
	char buf[SEND_MAX];
	struct header h = {.len = len, .type = type};

	if (len > sizeof(buf) - sizeof(h)) {
		errno = EMSGSIZE;
		return -1;
	}
	memcpy(buf, &h, sizeof(h));
	if (len > 0)
		memcpy(buf + sizeof(h), payload, len);
	return send_all(fd, buf, sizeof(h) + len);
}

int frame_send_error(int fd, int err, const char *msg)
{
	char payload[SEND_MAX - sizeof(struct header)];
	int32_t e = err;
	size_t n = strnlen(msg, sizeof(payload) - sizeof(e) - 1);

	memcpy(payload, &e, sizeof(e));
	memcpy(payload + sizeof(e), msg, n);
	payload[sizeof(e) + n] = '\0';
	return frame_send(fd, FRAME_ERROR, payload, (uint32_t)(sizeof(e) + n + 1));
}

// read_full reads exactly len bytes. A peer closing the socket in the
// middle of a frame is EPROTO: the frame is unusable either way.
static int read_full(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len > 0) {
		ssize_t n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = EPROTO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

// take_fds moves the SCM_RIGHTS fds of msg into f. More fds than a frame
// may carry, or a truncated control message, means fds were lost: EPROTO.
static int take_fds(struct msghdr *msg, struct frame *f)
{
	int lost = (msg->msg_flags & MSG_CTRUNC) != 0;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c != NULL; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
			if (f->nfds < FRAME_MAX_FDS) {
				f->fds[f->nfds++] = fd;
				continue;
			}
			close(fd);
			lost = 1;
		}
	}
	if (lost) {
		errno = EPROTO;
		return -1;
	}
	return 0;
}

// frame_recv reads one frame: 1 on success, 0 on EOF before a frame, -1
// with errno set otherwise (f is then empty). The fds come with the first
// bytes of the frame, because the sender passes them with the sendmsg that
// carries the header; MSG_CMSG_CLOEXEC keeps them from leaking into the
// workload even if a handler forgets one.
int frame_recv(int fd, struct frame *f)
{
	struct header h;
	union { // aligned for struct cmsghdr
		char buf[CMSG_SPACE(sizeof(int) * FRAME_MAX_FDS)];
		struct cmsghdr align;
	} control;
	struct iovec iov = {.iov_base = &h, .iov_len = sizeof(h)};
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control.buf,
		.msg_controllen = sizeof(control.buf),
	};
	ssize_t n;

	memset(f, 0, sizeof(*f));
	for (int i = 0; i < FRAME_MAX_FDS; i++)
		f->fds[i] = -1;
	do
		n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return (int)n;
	if (take_fds(&msg, f) < 0)
		goto fail;
	// A stream socket may hand out the header in pieces.
	if ((size_t)n < sizeof(h) && read_full(fd, (char *)&h + n, sizeof(h) - (size_t)n) < 0)
		goto fail;
	if (h.len > FRAME_MAX_PAYLOAD) {
		errno = EMSGSIZE;
		goto fail;
	}
	f->type = h.type;
	f->len = h.len;
	f->payload = malloc((size_t)h.len + 1);
	if (f->payload == NULL)
		goto fail;
	if (read_full(fd, f->payload, h.len) < 0)
		goto fail;
	f->payload[h.len] = '\0';
	return 1;
fail: {
	int err = errno;
	frame_free(f);
	errno = err;
	return -1;
}
}

void frame_free(struct frame *f)
{
	for (int i = 0; i < f->nfds; i++)
		if (f->fds[i] >= 0)
			close(f->fds[i]);
	free(f->payload);
	memset(f, 0, sizeof(*f));
}

// take copies n bytes out of the payload (memcpy: integers in a payload
// need not be aligned).
static void take(struct cursor *c, void *dst, size_t n)
{
	if (c->bad || c->left < n) {
		c->bad = 1;
		memset(dst, 0, n);
		return;
	}
	memcpy(dst, c->p, n);
	c->p += n;
	c->left -= n;
}

uint32_t take_u32(struct cursor *c)
{
	uint32_t v;

	take(c, &v, sizeof(v));
	return v;
}

uint64_t take_u64(struct cursor *c)
{
	uint64_t v;

	take(c, &v, sizeof(v));
	return v;
}

const char *take_str(struct cursor *c)
{
	const char *s = c->p;
	const char *nul = c->bad ? NULL : memchr(c->p, '\0', c->left);

	if (nul == NULL) {
		c->bad = 1;
		return "";
	}
	c->left -= (size_t)(nul - s) + 1;
	c->p = nul + 1;
	return s;
}

// go_errno_texts holds the errnos a file, mount or process step may meet whose
// text in Go (glibc's, lowercase) is not musl's strerror lowercased.
static const struct {
	int err;
	const char *text;
} go_errno_texts[] = {
	{EIO, "input/output error"},
	{ECHILD, "no child processes"},
	{ENOMEM, "cannot allocate memory"},
	{EBUSY, "device or resource busy"},
	{EXDEV, "invalid cross-device link"},
	{EMFILE, "too many open files"},
	{ENOTTY, "inappropriate ioctl for device"},
	{ESPIPE, "illegal seek"},
	{EDOM, "numerical argument out of domain"},
	{ERANGE, "numerical result out of range"},
	{EDEADLK, "resource deadlock avoided"},
	{ENAMETOOLONG, "file name too long"},
	{ELOOP, "too many levels of symbolic links"},
	{EOVERFLOW, "value too large for defined data type"},
	{EILSEQ, "invalid or incomplete multibyte or wide character"},
	{ENOTSOCK, "socket operation on non-socket"},
	{EMSGSIZE, "message too long"},
	{EOPNOTSUPP, "operation not supported"},
	{EUCLEAN, "structure needs cleaning"},
	{EDQUOT, "disk quota exceeded"},
};

// errno_text is strerror, or with go_texts the way Go's syscall.Errno
// spells it: the messages of the init steps were Go's before they were
// ported here ("exec /x: no such file or directory"), and callers match
// on them.
const char *errno_text(int err, int go_texts, char *buf, size_t size)
{
	if (go_texts) {
		for (size_t i = 0; i < sizeof(go_errno_texts) / sizeof(go_errno_texts[0]); i++) {
			if (go_errno_texts[i].err == err) {
				snprintf(buf, size, "%s", go_errno_texts[i].text);
				return buf;
			}
		}
	}
	snprintf(buf, size, "%s", strerror(err));
	if (go_texts)
		buf[0] = (char)tolower((unsigned char)buf[0]);
	return buf;
}

void format_message(char *buf, size_t size, int err, int go_texts,
		    const char *fmt, va_list ap)
{
	char text[128];
	size_t n;

	vsnprintf(buf, size, fmt, ap);
	n = strlen(buf);
	if (err != 0 && n < size)
		snprintf(buf + n, size - n, ": %s", errno_text(err, go_texts, text, sizeof(text)));
}

void die(const struct failer *f, int err, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	size_t n = (size_t)snprintf(msg, sizeof(msg), "%s", f->prefix ? f->prefix : "");
	if (n >= sizeof(msg))
		n = sizeof(msg) - 1;
	va_start(ap, fmt);
	format_message(msg + n, sizeof(msg) - n, err, f->go_texts, fmt, ap);
	va_end(ap);
	if (f->style == FAIL_FRAME) {
		frame_send_error(f->fd, err, msg);
	} else {
		char line[sizeof(msg) + 16];
		int n = snprintf(line, sizeof(line), "husk: %s\n", msg);
		write_all(f->fd, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
	}
	_exit(f->status);
}
