/*
 * dir-ldap-pwfile.c: the `ldap` backend's service password file ([directory]
 * bind_password_file; design.md "Directory backends": the daemon binds only with its own
 * service credentials, seed 004): read once at start and at each reload, refused unless it is a
 * regular file that group and others cannot read, its first line taken as the password, the
 * buffer wiped after use.
 */
#include "directory/dir-ldap-int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *dir_ldap_read_password_file(const char *path, char *err, size_t errsize)
{
	struct stat st;
	char buf[DIR_LDAP_MAX_PASSWORD_FILE + 1], *pw;
	size_t n = 0, len;
	int fd;

	if (path == NULL || path[0] == '\0') {
		snprintf(err, errsize, "ldap backend: no bind password file configured");
		return NULL;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		snprintf(err, errsize, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0) {
		snprintf(err, errsize, "%s: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errsize, "%s: not a regular file", path);
		close(fd);
		return NULL;
	}
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		snprintf(err, errsize,
		         "%s: mode %04o lets group or others at the service password; refusing "
		         "to start (chmod 600 %s)",
		         path, (unsigned)(st.st_mode & 07777), path);
		close(fd);
		return NULL;
	}
	while (n < sizeof(buf)) {
		ssize_t k = read(fd, buf + n, sizeof(buf) - n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			snprintf(err, errsize, "%s: %s", path, strerror(errno));
			explicit_bzero(buf, sizeof(buf));
			close(fd);
			return NULL;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	close(fd);
	if (n > DIR_LDAP_MAX_PASSWORD_FILE) {
		snprintf(err, errsize, "%s: longer than %u bytes", path,
		         DIR_LDAP_MAX_PASSWORD_FILE);
		explicit_bzero(buf, sizeof(buf));
		return NULL;
	}
	len = 0;
	while (len < n && buf[len] != '\n' && buf[len] != '\r')
		len++;
	if (memchr(buf, '\0', len) != NULL) {
		snprintf(err, errsize, "%s: NUL byte in the password", path);
		explicit_bzero(buf, sizeof(buf));
		return NULL;
	}
	if (len == 0) {
		snprintf(err, errsize, "%s: empty password", path);
		explicit_bzero(buf, sizeof(buf));
		return NULL;
	}
	pw = strndup(buf, len);
	explicit_bzero(buf, sizeof(buf));
	if (pw == NULL)
		snprintf(err, errsize, "%s: out of memory", path);
	return pw;
}
