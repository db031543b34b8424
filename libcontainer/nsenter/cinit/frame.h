// frame.h: the binary frames spoken on the sync socket (see doc.go for the
// format) and the one way every C part of this package reports a fatal
// error. The numbers and limits must match frame.go.

#ifndef HUSK_FRAME_H
#define HUSK_FRAME_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

enum frame_type {
	FRAME_OK = 1,
	FRAME_ERROR = 2,
	FRAME_PID = 3,
	FRAME_MOUNT = 10,
	FRAME_EXEC = 11,
	FRAME_WRITE = 12,
};

// Both sides refuse bigger frames, so a confused peer cannot make the
// other allocate without bound. An exec plan carries the workload's whole
// environment, which execve allows to be a few MB.
#define FRAME_MAX_PAYLOAD (4u << 20)
// The most file descriptors one frame carries (FrameExec: root, fifo, pty).
#define FRAME_MAX_FDS 4

// A received frame. payload is malloc'd with a NUL after the last byte;
// fds are close-on-exec, and a handler that keeps one sets its slot to -1.
struct frame {
	uint32_t type;
	uint32_t len;
	char *payload;
	int fds[FRAME_MAX_FDS];
	int nfds;
};

int write_all(int fd, const void *buf, size_t len);
int frame_send(int fd, uint32_t type, const void *payload, uint32_t len);
int frame_send_error(int fd, int err, const char *msg);
int frame_recv(int fd, struct frame *f);
void frame_free(struct frame *f);

// A reader over a payload. Any read past the end sets bad and yields
// zeroes or "", so a decoder checks bad once at the end.
struct cursor {
	const char *p;
	size_t left;
	int bad;
};

uint32_t take_u32(struct cursor *c);
uint64_t take_u64(struct cursor *c);
const char *take_str(struct cursor *c);

// How a fatal error leaves the process.
enum fail_style {
	FAIL_FRAME, // a FrameError on fd
	FAIL_TEXT,  // "husk: <message>\n" on fd
};

struct failer {
	int fd;
	enum fail_style style;
	int status;   // exit status
	int go_texts; // errno texts as Go spells them ("no such file ...")
	const char *prefix; // put before every message; NULL for none
};

__attribute__((noreturn, format(printf, 3, 4)))
void die(const struct failer *f, int err, const char *fmt, ...);
__attribute__((format(printf, 5, 0)))
void format_message(char *buf, size_t size, int err, int go_texts,
		    const char *fmt, va_list ap);
const char *errno_text(int err, int go_texts, char *buf, size_t size);

#endif
