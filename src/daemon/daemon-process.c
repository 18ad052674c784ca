/*
 * daemon-process.c: mbxstored as a Unix process (mbxstored(8); design.md "Programs"): detaching
 * from the terminal with a pipe that tells the waiting parent how start-up went, the pid file,
 * the switch to [server] user, and systemd's readiness notifications. daemon.c calls these in
 * the order of start-up (daemon-int.h).
 */
#include "daemon/daemon-int.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "mbx/log.h"

/* systemd's readiness protocol (sd_notify(3)) without libsystemd: one datagram to the socket
 * named by NOTIFY_SOCKET, if any. */
void daemon_process_notify(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	size_t n;
	int fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@'))
		return;
	n = strlen(path);
	if (n >= sizeof(sa.sun_path))
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, n);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0'; /* abstract namespace */
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	(void)sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (const struct sockaddr *)&sa,
		     (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n));
	close(fd);
}

int daemon_process_resolve_user(struct daemon *d)
{
	const struct passwd *pw;

	if (d->cfg.server.user == NULL)
		return 0;
	errno = 0;
	pw = getpwnam(d->cfg.server.user);
	if (pw == NULL) {
		fprintf(stderr, "mbxstored: %s: [server] user %s: %s\n", d->cfg.file,
			d->cfg.server.user, errno != 0 ? strerror(errno) : "no such user");
		return -1;
	}
	d->switch_user = true;
	d->uid = pw->pw_uid;
	d->gid = pw->pw_gid;
	return 0;
}

/*
 * fork, setsid, fork again (the daemon is no session leader, so it never gets a controlling
 * terminal), chdir /, stdin and stdout (and stderr unless logs go there) to /dev/null. The
 * original process waits on a pipe until the daemon has started or failed, and exits with
 * that status, so that `mbxstored && echo started` tells the truth. Returns 0 in the daemon.
 */
int daemon_process_detach(struct daemon *d)
{
	int p[2], nul;
	pid_t pid;

	if (pipe(p) != 0 || fcntl(p[0], F_SETFD, FD_CLOEXEC) != 0 ||
	    fcntl(p[1], F_SETFD, FD_CLOEXEC) != 0) {
		fprintf(stderr, "mbxstored: pipe: %s\n", strerror(errno));
		return -1;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "mbxstored: fork: %s\n", strerror(errno));
		return -1;
	}
	if (pid > 0) {
		char buf[DAEMON_ERR_MAX];
		size_t n = 0;
		ssize_t k;

		close(p[1]);
		while (n < sizeof(buf) - 1 &&
		       ((k = read(p[0], buf + n, sizeof(buf) - 1 - n)) > 0 ||
			(k < 0 && errno == EINTR)))
			if (k > 0)
				n += (size_t)k;
		buf[n] = '\0';
		if (n > 0 && buf[0] == '0')
			_exit(0);
		if (n > 1)
			fprintf(stderr, "mbxstored: %s\n", buf + 1);
		else
			fprintf(stderr, "mbxstored: the daemon exited during start-up (see the log)\n");
		_exit(1);
	}
	close(p[0]);
	if (setsid() < 0)
		_exit(1);
	pid = fork();
	if (pid < 0)
		_exit(1);
	if (pid > 0)
		_exit(0); /* the parent keeps waiting on the pipe, which the daemon holds */
	d->ready_fd = p[1];
	if (chdir("/") != 0)
		_exit(1);
	umask(022);
	nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nul >= 0) {
		dup2(nul, STDIN_FILENO);
		dup2(nul, STDOUT_FILENO);
		if (d->cfg.log.target != MBX_CONFIG_LOG_STDERR)
			dup2(nul, STDERR_FILENO);
		if (nul > STDERR_FILENO)
			close(nul);
	}
	return 0;
}

int daemon_process_write_pid(struct daemon *d)
{
	const char *path = d->cfg.server.pid_file;
	char buf[32];
	int fd, n;

	if (path == NULL)
		return 0;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		daemon_fail(d, "pid_file %s: %s", path, strerror(errno));
		return -1;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (write(fd, buf, (size_t)n) != n || close(fd) != 0) {
		daemon_fail(d, "pid_file %s: %s", path, strerror(errno));
		unlink(path);
		return -1;
	}
	d->pid_file = strdup(path);
	if (d->pid_file == NULL) {
		unlink(path);
		daemon_fail(d, "out of memory");
		return -1;
	}
	return 0;
}

/* setgroups (the user's groups), setgid, setuid; then make sure root cannot come back. */
int daemon_process_drop_privileges(struct daemon *d)
{
	if (!d->switch_user)
		return 0;
	if (geteuid() != 0) {
		if (geteuid() != d->uid)
			mbx_log(MBX_LOG_WARNING,
				"not started as root: cannot switch to user %s, running as uid %ld",
				d->cfg.server.user, (long)geteuid());
		return 0;
	}
	if (initgroups(d->cfg.server.user, d->gid) != 0 || setgid(d->gid) != 0 ||
	    setuid(d->uid) != 0) {
		daemon_fail(d, "cannot switch to user %s: %s; refusing to run as root",
			    d->cfg.server.user, strerror(errno));
		return -1;
	}
	if (d->uid != 0 && (getuid() == 0 || geteuid() == 0 || setuid(0) == 0)) {
		daemon_fail(d, "still root after switching to user %s; refusing to run",
			    d->cfg.server.user);
		return -1;
	}
	mbx_log(MBX_LOG_INFO, "running as user %s (uid %ld, gid %ld)", d->cfg.server.user,
		(long)d->uid, (long)d->gid);
	return 0;
}
