/*
 * ctl-client.c: mbxctl's side of the control socket (include/mbx/control.h, mbxctl(8)
 * "CONTROL SOCKET"): the commands that run in the daemon (include/mbx/admin.h) are sent as one
 * request line, and the answer (status line and body) is read whole, then printed: the body on
 * standard output, an ERR message as "mbxctl: message" on standard error (or, with --json, the
 * JSON error body on standard output), and the status becomes the exit status.
 */
#include "mbxctl.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "mbx/control.h"
#include "mbx/json.h"

/* "ERR 125 " + message + LF */
#define CTL_STATUS_MAX (8 + MBX_CONTROL_MSG_MAX + 1)
#define CTL_CHUNK 65536

/* The commands of the daemon (include/mbx/admin.h), for the usage text and the local check of
 * the first word. */
static const struct {
	const char *word;
	const char *args;
	const char *help;
} ctl_commands[] = {
        {"mailbox", "show MAILBOX", "directory facts, state, what a logon gets"},
        {"mailbox", "associate-self MAILBOX", "fix a disabled account without master SID"},
        {"move", "start MAILBOX --to DATABASE | --cross-forest",
         "start a move (new logons: in transit)"},
        {"move", "complete MAILBOX [--cross-forest SMTP:user@domain]", "finish a move"},
        {"move", "abort MAILBOX", "undo a move not completed"},
        {"report", "disabled-without-master-sid", "disabled accounts without master SID"},
        {"sessions", "", "the daemon's session contexts"},
        {"trace", "rop|http|ldap|store|all on|off", "switch a trace category of the log"},
        {"reload", "", "reload the configuration"},
        {"help", "", "the daemon's list of commands"},
};

#define CTL_NCOMMANDS (sizeof(ctl_commands) / sizeof(ctl_commands[0]))

bool mbxctl_daemon_command(const char *word)
{
	for (size_t i = 0; i < CTL_NCOMMANDS; i++)
		if (strcmp(ctl_commands[i].word, word) == 0)
			return true;
	return false;
}

void mbxctl_daemon_usage(FILE *f, const char *word)
{
	for (size_t i = 0; i < CTL_NCOMMANDS; i++) {
		char line[96];

		if (word != NULL && strcmp(ctl_commands[i].word, word) != 0)
			continue;
		if (word != NULL) {
			fprintf(f, "usage: mbxctl [-s SOCKET] [--json] %s%s%s\n",
			        ctl_commands[i].word, ctl_commands[i].args[0] != '\0' ? " " : "",
			        ctl_commands[i].args);
			continue;
		}
		snprintf(line, sizeof(line), "%s%s%s", ctl_commands[i].word,
		         ctl_commands[i].args[0] != '\0' ? " " : "", ctl_commands[i].args);
		if (strlen(line) <= 36)
			fprintf(f, "  %-36s %s\n", line, ctl_commands[i].help);
		else
			fprintf(f, "  %s\n  %-36s %s\n", line, "", ctl_commands[i].help);
	}
}

/* The read timeout in ms: MBXCTL_TIMEOUT seconds (1..3600) or the default. */
static int ctl_timeout_ms(void)
{
	const char *v = getenv("MBXCTL_TIMEOUT");
	char *end;
	long s;

	if (v == NULL || *v == '\0')
		return MBXCTL_TIMEOUT_DEFAULT * 1000;
	errno = 0;
	s = strtol(v, &end, 10);
	if (errno != 0 || *end != '\0' || s < 1 || s > 3600)
		return MBXCTL_TIMEOUT_DEFAULT * 1000;
	return (int)s * 1000;
}

static int ctl_connect(const char *path)
{
	struct sockaddr_un sun;
	size_t plen = strlen(path);
	int fd;

	if (plen == 0 || plen >= sizeof(sun.sun_path)) {
		errno = plen == 0 ? ENOENT : ENAMETOOLONG;
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, plen + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* Sends the request. The daemon may answer and close before reading all of it (busy, a
 * refused peer): EPIPE and ECONNRESET end the sending quietly, the answer is read next. */
static int ctl_send(int fd, const char *req, size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t w = send(fd, req + off, len - off, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EPIPE || errno == ECONNRESET)
				return 0;
			return -1;
		}
		off += (size_t)w;
	}
	return 0;
}

struct ctl_answer {
	char *buf;
	size_t len, cap;
	size_t status_len; /* bytes of the status line with its LF, 0 until it is complete */
};

/* Reads the whole answer (until EOF). Returns 0, or -1 after printing why. */
static int ctl_read(int fd, const char *path, struct ctl_answer *a)
{
	const size_t limit = CTL_STATUS_MAX + (size_t)MBX_CONTROL_BODY_MAX;
	int timeout = ctl_timeout_ms();

	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		ssize_t r;
		int p;

		if (a->cap - a->len < CTL_CHUNK) {
			size_t cap = a->cap == 0 ? CTL_CHUNK * 2 : a->cap * 2;
			char *nb;

			if (cap > limit + 1)
				cap = limit + 1;
			if (cap <= a->len) {
				fprintf(stderr,
				        "mbxctl: the answer of mbxstored is larger than %u bytes\n",
				        MBX_CONTROL_BODY_MAX);
				return -1;
			}
			nb = realloc(a->buf, cap);
			if (nb == NULL) {
				fprintf(stderr, "mbxctl: out of memory reading the answer\n");
				return -1;
			}
			a->buf = nb;
			a->cap = cap;
		}
		p = poll(&pfd, 1, timeout);
		if (p < 0 && errno == EINTR)
			continue;
		if (p < 0) {
			fprintf(stderr, "mbxctl: poll: %s\n", strerror(errno));
			return -1;
		}
		if (p == 0) {
			fprintf(stderr, "mbxctl: no answer from mbxstored at %s within %d s\n",
			        path, timeout / 1000);
			return -1;
		}
		r = read(fd, a->buf + a->len, a->cap - a->len);
		if (r < 0 && errno == EINTR)
			continue;
		/* a Unix socket loses no data: a reset after the answer is its end */
		if (r == 0 || (r < 0 && errno == ECONNRESET && a->len > 0))
			break;
		if (r < 0) {
			fprintf(stderr, "mbxctl: reading the answer of mbxstored at %s: %s\n", path,
			        strerror(errno));
			return -1;
		}
		a->len += (size_t)r;
		if (a->status_len == 0) {
			size_t scan = a->len < CTL_STATUS_MAX ? a->len : CTL_STATUS_MAX;
			const char *lf = memchr(a->buf, '\n', scan);

			if (lf != NULL) {
				a->status_len = (size_t)(lf - a->buf) + 1;
			} else if (a->len >= CTL_STATUS_MAX) {
				fprintf(stderr,
				        "mbxctl: bad answer from mbxstored: no status line\n");
				return -1;
			}
		}
		if (a->status_len > 0 && a->len - a->status_len > MBX_CONTROL_BODY_MAX) {
			fprintf(stderr, "mbxctl: the answer of mbxstored is larger than %u bytes\n",
			        MBX_CONTROL_BODY_MAX);
			return -1;
		}
	}
	if (a->len == 0) {
		fprintf(stderr, "mbxctl: mbxstored closed the connection without an answer\n");
		return -1;
	}
	if (a->status_len == 0) {
		fprintf(stderr, "mbxctl: bad answer from mbxstored: no status line\n");
		return -1;
	}
	return 0;
}

/* Prints an ERR answer; returns its status. */
static int ctl_print_error(bool json, int status, const char *msg, const char *body, size_t blen)
{
	if (!json) {
		fprintf(stderr, "mbxctl: %s\n", msg);
		return status;
	}
	if (blen > 0) {
		if (fwrite(body, 1, blen, stdout) != blen || fflush(stdout) != 0)
			fprintf(stderr, "mbxctl: writing standard output: %s\n", strerror(errno));
	} else {
		/* the daemon sends no JSON body when it could not tell the format: make one */
		struct mbx_json j;

		mbx_json_init_file(&j, stdout, 0);
		mbx_json_obj_begin(&j);
		mbx_json_kv_str(&j, "error", msg);
		mbx_json_kv_int(&j, "status", status);
		mbx_json_obj_end(&j);
		if (mbx_json_finish(&j, NULL) != 0)
			fprintf(stderr, "mbxctl: writing standard output failed\n");
	}
	return status;
}

int mbxctl_daemon_run(const char *path, bool json, int argc, char **argv)
{
	char req[MBX_CONTROL_REQ_MAX + 1], err[160], msg[MBX_CONTROL_MSG_MAX + 1];
	struct ctl_answer a = {0};
	const char *body;
	size_t blen;
	int n, fd, status, rc;

	n = mbx_control_request_format(json, argc, (const char *const *)argv, req, sizeof(req), err,
	                               sizeof(err));
	if (n < 0) {
		fprintf(stderr, "mbxctl: %s\n", err);
		return MBX_CTL_USAGE;
	}
	fd = ctl_connect(path);
	if (fd < 0) {
		fprintf(stderr, "mbxctl: cannot reach mbxstored at %s: %s\n", path,
		        strerror(errno));
		return MBX_CTL_UNREACHABLE;
	}
	if (ctl_send(fd, req, (size_t)n) != 0) {
		fprintf(stderr, "mbxctl: cannot reach mbxstored at %s: %s\n", path,
		        strerror(errno));
		close(fd);
		return MBX_CTL_UNREACHABLE;
	}
	rc = ctl_read(fd, path, &a);
	close(fd);
	if (rc != 0) {
		free(a.buf);
		return MBX_CTL_UNREACHABLE;
	}
	if (mbx_control_status_parse(a.buf, a.status_len, &status, msg, sizeof(msg)) != 0) {
		fprintf(stderr, "mbxctl: bad answer from mbxstored: no status line\n");
		free(a.buf);
		return MBX_CTL_UNREACHABLE;
	}
	body = a.buf + a.status_len;
	blen = a.len - a.status_len;
	if (status != 0) {
		status = ctl_print_error(json, status, msg, body, blen);
		free(a.buf);
		return status;
	}
	rc = MBX_CTL_OK;
	if ((blen > 0 && fwrite(body, 1, blen, stdout) != blen) || fflush(stdout) != 0) {
		fprintf(stderr, "mbxctl: writing standard output: %s\n", strerror(errno));
		rc = MBX_CTL_FAILED;
	}
	free(a.buf);
	return rc;
}
