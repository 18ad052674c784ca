/*
 * fuzz-ldif.c: libFuzzer harness for the `ldif` directory backend (src/directory/dir-ldif.c,
 * design.md "Directory backends"): the input is written to a file and loaded as the daemon
 * loads its directory; when it loads, the first entries are looked up by each of their keys,
 * one password is checked, a modification that must fail is tried, and the file is reloaded.
 * Everything is delivered through the event loop and freed: no crash, no leak.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/event.h>

#include "directory/dir-ldif.h"
#include "mbx/directory.h"
#include "mbx/log.h"

static struct event_base *fuzz_base;
static char fuzz_path[64];
static int fuzz_calls;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_cb(void *ctx, const struct mbx_dir_result *res)
{
	fuzz_calls++;
	for (size_t i = 0; i < res->nentries; i++) {
		const struct mbx_dir_entry *e = res->entries[i];

		/* touch every byte the backend handed out */
		for (size_t j = 0; j < e->nattrs; j++)
			for (size_t k = 0; k < e->attrs[j].nvals; k++)
				if (e->attrs[j].vals[k].data[e->attrs[j].vals[k].len] != 0)
					abort();
	}
}

static void fuzz_change_cb(void *ctx, const char *dn, const char *legacy_dn)
{
	if (dn == NULL)
		abort();
}

static void fuzz_init(void)
{
	const char *tmp = getenv("TMPDIR");
	int fd;

	fuzz_base = event_base_new();
	snprintf(fuzz_path, sizeof(fuzz_path), "%s/fuzz-ldif.XXXXXX",
		 tmp != NULL && strlen(tmp) < 40 ? tmp : "/tmp");
	fd = mkstemp(fuzz_path);
	if (fuzz_base == NULL || fd < 0)
		abort();
	close(fd);
	mbx_log_set_level(MBX_LOG_ERROR);
}

static void fuzz_key(struct mbx_dir *d, enum mbx_dir_key kind, const struct mbx_dir_entry *e,
		     const char *attr)
{
	size_t len;
	const uint8_t *v = mbx_dir_entry_bin(e, attr, &len);

	if (v != NULL && mbx_dir_lookup(d, kind, v, len, fuzz_cb, NULL) == NULL)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mbx_dir_config cfg = {.backend = "ldif"};
	static const struct mbx_dir_attrmap map[] = {{"mail", "x-mail"}};
	struct mbx_dir_mod bad = {MBX_DIR_MOD_DELETE, "x-fuzz-never-there", NULL, 0};
	struct mbx_dir *d;
	char err[512];
	FILE *f;
	int expect = 0;

	if (fuzz_base == NULL)
		fuzz_init();
	f = fopen(fuzz_path, "wb");
	if (f == NULL || fwrite(data, 1, size, f) != size || fclose(f) != 0)
		abort();
	cfg.ldif_path = fuzz_path;
	cfg.attrmap = map;
	cfg.nattrmap = size > 0 && (data[0] & 1) ? 1 : 0;
	d = mbx_dir_new(fuzz_base, &cfg, err, sizeof(err));
	if (d == NULL) {
		if (strncmp(err, fuzz_path, strlen(fuzz_path)) != 0)
			abort(); /* every load error names the file */
		return 0;
	}
	mbx_dir_set_change_cb(d, fuzz_change_cb, NULL);
	fuzz_calls = 0;
	for (size_t i = 0; i < dir_ldif_count(d) && i < 8; i++) {
		const struct mbx_dir_entry *e = dir_ldif_entry(d, i);
		const struct mbx_dir_attr *pw = mbx_dir_entry_attr(e, "userPassword");

		if (mbx_dir_lookup(d, MBX_DIR_BY_DN, e->dn, 0, fuzz_cb, NULL) == NULL ||
		    mbx_dir_lookup(d, MBX_DIR_BY_MEMBER, e->dn, 0, fuzz_cb, NULL) == NULL)
			abort();
		expect += 2;
		fuzz_key(d, MBX_DIR_BY_LEGACYDN, e, "legacyExchangeDN");
		fuzz_key(d, MBX_DIR_BY_SMTP, e, "mail");
		fuzz_key(d, MBX_DIR_BY_LOGIN, e, "sAMAccountName");
		fuzz_key(d, MBX_DIR_BY_SID, e, "objectSid");
		expect += !!mbx_dir_entry_attr(e, "legacyExchangeDN") +
			  !!mbx_dir_entry_attr(e, "mail") +
			  !!mbx_dir_entry_attr(e, "sAMAccountName") +
			  !!mbx_dir_entry_attr(e, "objectSid");
		/* crypt(3) cost is the file's to choose: leave {CRYPT} out of the fuzzer */
		if (pw != NULL && pw->nvals > 0 &&
		    strncasecmp((const char *)pw->vals[0].data, "{CRYPT}", 7) != 0) {
			if (mbx_dir_check_password(d, e->dn, "password", fuzz_cb, NULL) == NULL)
				abort();
			expect++;
		}
		if (mbx_dir_modify(d, e->dn, &bad, 1, fuzz_cb, NULL) == NULL)
			abort();
		expect++;
	}
	if (mbx_dir_lookup(d, MBX_DIR_BY_SMTP, "nobody@example", 0, fuzz_cb, NULL) == NULL)
		abort();
	expect++;
	event_base_dispatch(fuzz_base);
	if (fuzz_calls != expect)
		abort();
	if (mbx_dir_reload(d, err, sizeof(err)) != 0)
		abort(); /* same file, same answer */
	event_base_dispatch(fuzz_base);
	mbx_dir_free(&d);
	return 0;
}
