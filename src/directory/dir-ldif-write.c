/*
 * dir-ldif-write.c: writing the entries of the `ldif` directory backend back to its file
 * (design.md "Directory backends") after a modification, atomically: a temporary file in
 * the same folder, fsync, rename over the file, fsync of the folder. A file changed on
 * disk since it was loaded is not overwritten.
 */
#include "directory/dir-ldif-int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ldap.h>
#include <ldif.h>

#include "mbx/log.h"

/* --- writing back ------------------------------------------------------------------------ */

static int dl_write_put(FILE *f, const char *name, const void *val, size_t len)
{
	char *s = ldif_put_wrap(LDIF_PUT_VALUE, name, val, len, 0);
	int rc;

	if (s == NULL) {
		errno = ENOMEM;
		return -1;
	}
	rc = fputs(s, f) < 0 ? -1 : 0;
	ber_memfree(s);
	return rc;
}

static int dl_write_entries(struct dir_ldif *dl, const struct dl_db *db, FILE *f)
{
	for (size_t i = 0; i < db->nents; i++) {
		const struct mbx_dir_entry *e = db->ents[i];

		if (i > 0 && fputc('\n', f) == EOF)
			return -1;
		if (dl_write_put(f, "dn", e->dn, strlen(e->dn)) < 0)
			return -1;
		for (size_t j = 0; j < e->nattrs; j++) {
			const struct mbx_dir_attr *a = &e->attrs[j];
			const char *name = mbx_dir_server_attr(&dl->head, a->name);

			for (size_t k = 0; k < a->nvals; k++) {
				if (dl_write_put(f, name, a->vals[k].data, a->vals[k].len) < 0)
					return -1;
			}
		}
	}
	return 0;
}

static bool dl_write_same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Writes db over the file: temporary file beside it, fsync, rename, fsync of the folder. A
 * symbolic link is followed (the file it points to is replaced). On failure the file is as it
 * was and err says why. */
int dir_ldif_write(struct dir_ldif *dl, const struct dl_db *db, char *err, size_t errsize)
{
	char *real = realpath(dl->path, NULL), *dir = NULL, *tmp = NULL, *slash;
	struct stat now;
	FILE *f = NULL;
	int fd = -1, dfd, rc = -1;
	size_t n;

	if (real == NULL) {
		snprintf(err, errsize, "%s: %s", dl->path, strerror(errno));
		return -1;
	}
	if (stat(real, &now) < 0) {
		snprintf(err, errsize, "%s: %s", dl->path, strerror(errno));
		goto out;
	}
	if (!dl_write_same_file(&now, &dl->st)) {
		snprintf(err, errsize, "%s: changed on disk since it was loaded (reload first)",
			 dl->path);
		goto out;
	}
	n = strlen(real) + 16;
	dir = strdup(real);
	tmp = malloc(n);
	if (dir == NULL || tmp == NULL) {
		snprintf(err, errsize, "out of memory");
		goto out;
	}
	slash = strrchr(dir, '/'); /* realpath gives an absolute path */
	*slash = '\0';
	snprintf(tmp, n, "%s/.%s.XXXXXX", dir, slash + 1);
	if (dir[0] == '\0')
		strcpy(dir, "/");
	fd = mkstemp(tmp);
	if (fd < 0) {
		snprintf(err, errsize, "cannot create a temporary file in %s: %s", dir,
			 strerror(errno));
		free(tmp);
		tmp = NULL;
		goto out;
	}
	(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	if (fchmod(fd, now.st_mode & 07777) < 0 ||
	    (geteuid() == 0 && fchown(fd, now.st_uid, now.st_gid) < 0)) {
		snprintf(err, errsize, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	f = fdopen(fd, "w");
	if (f == NULL) {
		snprintf(err, errsize, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	errno = 0;
	if (dl_write_entries(dl, db, f) < 0 || fflush(f) != 0 || ferror(f)) {
		snprintf(err, errsize, "cannot write %s: %s", tmp, strerror(errno ? errno : EIO));
		goto out;
	}
	if (fsync(fileno(f)) < 0) {
		snprintf(err, errsize, "cannot fsync %s: %s", tmp, strerror(errno));
		goto out;
	}
	rc = fclose(f);
	f = NULL;
	if (rc != 0) {
		rc = -1;
		snprintf(err, errsize, "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	rc = -1;
	if (rename(tmp, real) < 0) {
		snprintf(err, errsize, "cannot rename %s to %s: %s", tmp, real, strerror(errno));
		goto out;
	}
	rc = 0;
	/* The new content is in place; if the folder cannot be synced the rename may not survive
	 * a crash, but memory and file agree, so this is only worth a warning. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) < 0)
		mbx_log(MBX_LOG_WARNING, "directory %s: cannot fsync folder %s: %s", dl->path, dir,
			strerror(errno));
	if (dfd >= 0)
		close(dfd);
	if (stat(real, &now) == 0)
		dl->st = now;
out:
	if (f != NULL)
		fclose(f);
	if (fd >= 0)
		close(fd);
	if (tmp != NULL && rc < 0)
		unlink(tmp);
	free(tmp);
	free(dir);
	free(real);
	return rc;
}
