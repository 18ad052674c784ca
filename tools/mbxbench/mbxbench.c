/*
 * mbxbench.c: main() of mbxbench(1), the load generator for mbxstored's MAPI over HTTP
 * endpoint ([MS-OXCMAPIHTTP]; protocol.md 5): options, then the daemon run (--url) and the
 * baseline run (--baseline: the same load against an in-process evhttp responder whose Execute
 * body has the size of the daemon's), the report, and the exit status (0 clean, 1 failures or
 * no run, 2 usage). --serve runs only the responder, for tests across processes.
 */
#include "mbxbench.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "mbx/rop-errors.h"

#define BENCH_DEFAULT_CONCURRENCY 16u
#define BENCH_MAX_CONCURRENCY 4096u
#define BENCH_DEFAULT_DURATION 10.0
#define BENCH_DEFAULT_WARMUP 2.0
#define BENCH_DEFAULT_TIMEOUT 10.0
#define BENCH_PASSWORD_MAX 1024
/* What the spec's examples send; the daemon derives the client version from it. */
#define BENCH_DEFAULT_CLIENT_APP "Outlook/15.0.4815.1002"
/* Baseline-only runs log on to a mailbox that the responder does not look up. */
#define BENCH_BASELINE_USER "bench@mbxbench.invalid"
#define BENCH_BASELINE_DN                                                                          \
	"/o=mbxbench/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=bench"

struct bench_opts {
	const char *url;
	const char *user;
	const char *password_file;
	const char *legacy_dn;
	const char *user_dn;
	const char *ca_file;
	const char *client_app;
	const char *listen;
	const char *cert_out;
	bool insecure, compress, xor, json, allow_errors;
	bool baseline, baseline_tls, serve, self_test;
	bool duration_set;
	uint32_t baseline_ec;
	unsigned baseline_close;
	uint64_t server_pid; /* 0: not given */
	struct bench_load load;
};

enum {
	OPT_URL = 256,
	OPT_USER,
	OPT_PASSWORD_FILE,
	OPT_LEGACY_DN,
	OPT_USER_DN,
	OPT_WARMUP,
	OPT_RATE,
	OPT_TIMEOUT,
	OPT_INSECURE,
	OPT_CA_FILE,
	OPT_COMPRESS,
	OPT_XOR,
	OPT_JSON,
	OPT_ALLOW_ERRORS,
	OPT_BASELINE,
	OPT_BASELINE_TLS,
	OPT_BASELINE_ERROR,
	OPT_BASELINE_CLOSE,
	OPT_SERVE,
	OPT_LISTEN,
	OPT_CERT_OUT,
	OPT_CLIENT_APP,
	OPT_SERVER_PID,
	OPT_SELF_TEST,
};

static const struct option bench_longopts[] = {
        {"url", required_argument, NULL, OPT_URL},
        {"user", required_argument, NULL, OPT_USER},
        {"password-file", required_argument, NULL, OPT_PASSWORD_FILE},
        {"legacy-dn", required_argument, NULL, OPT_LEGACY_DN},
        {"user-dn", required_argument, NULL, OPT_USER_DN},
        {"concurrency", required_argument, NULL, 'c'},
        {"duration", required_argument, NULL, 'd'},
        {"warmup", required_argument, NULL, OPT_WARMUP},
        {"requests", required_argument, NULL, 'n'},
        {"rate", required_argument, NULL, OPT_RATE},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"insecure", no_argument, NULL, OPT_INSECURE},
        {"ca-file", required_argument, NULL, OPT_CA_FILE},
        {"compress", no_argument, NULL, OPT_COMPRESS},
        {"xor", no_argument, NULL, OPT_XOR},
        {"json", no_argument, NULL, OPT_JSON},
        {"allow-errors", no_argument, NULL, OPT_ALLOW_ERRORS},
        {"baseline", no_argument, NULL, OPT_BASELINE},
        {"baseline-tls", no_argument, NULL, OPT_BASELINE_TLS},
        {"baseline-error", required_argument, NULL, OPT_BASELINE_ERROR},
        {"baseline-close", required_argument, NULL, OPT_BASELINE_CLOSE},
        {"serve", no_argument, NULL, OPT_SERVE},
        {"listen", required_argument, NULL, OPT_LISTEN},
        {"cert-out", required_argument, NULL, OPT_CERT_OUT},
        {"client-application", required_argument, NULL, OPT_CLIENT_APP},
        {"server-pid", required_argument, NULL, OPT_SERVER_PID},
        {"self-test", no_argument, NULL, OPT_SELF_TEST},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
};

static void bench_usage(FILE *f)
{
	fprintf(f,
	        "usage: mbxbench --url URL --user NAME --password-file FILE --legacy-dn DN\n"
	        "                [-c N] [-d S | -n N] [--warmup S] [--rate R] [--timeout S]\n"
	        "                [--insecure | --ca-file FILE] [--compress] [--xor] [--json]\n"
	        "                [--allow-errors] [--baseline] [--user-dn DN]\n"
	        "                [--client-application STR] [--server-pid PID]\n"
	        "       mbxbench --baseline [--baseline-tls] [--baseline-error EC]\n"
	        "                [--baseline-close N] [load options]\n"
	        "       mbxbench --serve [--listen ADDR:PORT] [--baseline-tls --cert-out FILE]\n"
	        "                [--baseline-error EC] [--baseline-close N] [-d S]\n"
	        "       mbxbench --self-test | -h | -V\n"
	        "  --url URL            https://HOST:PORT/mapi/emsmdb/ (or http://)\n"
	        "  --user NAME          account for HTTP Basic authentication\n"
	        "  --password-file FILE its password (first line)\n"
	        "  --legacy-dn DN       the mailbox's legacyExchangeDN (RopLogon Essdn; also the\n"
	        "                       Connect UserDn unless --user-dn gives the account's)\n"
	        "  -c, --concurrency N  session contexts, one connection each (default %u)\n"
	        "  -d, --duration S     measured seconds (default %g)\n"
	        "  -n, --requests N     measure exactly N Execute requests instead\n"
	        "      --warmup S       unmeasured load first (default %g)\n"
	        "      --rate R         open loop: R requests/s on a timer, latency from the due "
	        "time\n"
	        "      --timeout S      per response (default %g)\n"
	        "      --baseline       also measure an in-process evhttp responder; print the "
	        "ratio\n"
	        "      --server-pid PID the daemon's process: report its CPU time per request\n"
	        "See mbxbench(1).\n",
	        BENCH_DEFAULT_CONCURRENCY, BENCH_DEFAULT_DURATION, BENCH_DEFAULT_WARMUP,
	        BENCH_DEFAULT_TIMEOUT);
}

__attribute__((format(printf, 1, 2))) static int bench_usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "mbxbench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	bench_usage(stderr);
	return BENCH_EXIT_USAGE;
}

static int bench_num(const char *s, double min, double max, double *v_r)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !isfinite(v) || v < min || v > max)
		return -1;
	*v_r = v;
	return 0;
}

static int bench_u64(const char *s, uint64_t min, uint64_t max, uint64_t *v_r)
{
	char *end;
	unsigned long long v;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*v_r = v;
	return 0;
}

static int bench_read_password(const char *path, char *buf, size_t size, char *err, size_t errsz)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL) {
		snprintf(err, errsz, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (fgets(buf, (int)size, f) == NULL) {
		snprintf(err, errsz, "%s is empty", path);
		fclose(f);
		return -1;
	}
	fclose(f);
	n = strlen(buf);
	if (n == size - 1 && buf[n - 1] != '\n') {
		snprintf(err, errsz, "the password in %s is longer than %zu bytes", path, size - 2);
		return -1;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	if (n == 0) {
		snprintf(err, errsz, "the first line of %s is empty", path);
		return -1;
	}
	return 0;
}

static int bench_parse(int argc, char **argv, struct bench_opts *o)
{
	int c;
	double d;
	uint64_t u;

	memset(o, 0, sizeof(*o));
	o->load.concurrency = BENCH_DEFAULT_CONCURRENCY;
	o->load.duration = BENCH_DEFAULT_DURATION;
	o->load.warmup = BENCH_DEFAULT_WARMUP;
	o->load.timeout = BENCH_DEFAULT_TIMEOUT;
	o->client_app = BENCH_DEFAULT_CLIENT_APP;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+c:d:n:hV", bench_longopts, NULL)) != -1) {
		switch (c) {
		case OPT_URL:
			o->url = optarg;
			break;
		case OPT_USER:
			o->user = optarg;
			break;
		case OPT_PASSWORD_FILE:
			o->password_file = optarg;
			break;
		case OPT_LEGACY_DN:
			o->legacy_dn = optarg;
			break;
		case OPT_USER_DN:
			o->user_dn = optarg;
			break;
		case 'c':
			if (bench_u64(optarg, 1, BENCH_MAX_CONCURRENCY, &u) != 0)
				return bench_usage_error("--concurrency wants 1..%u",
				                         BENCH_MAX_CONCURRENCY);
			o->load.concurrency = (unsigned)u;
			break;
		case 'd':
			if (bench_num(optarg, 0.001, 86400 * 7, &d) != 0)
				return bench_usage_error("--duration wants seconds > 0");
			o->load.duration = d;
			o->duration_set = true;
			break;
		case OPT_WARMUP:
			if (bench_num(optarg, 0, 86400, &d) != 0)
				return bench_usage_error("--warmup wants seconds >= 0");
			o->load.warmup = d;
			break;
		case 'n':
			if (bench_u64(optarg, 1, UINT64_C(1) << 40, &u) != 0)
				return bench_usage_error("--requests wants a count >= 1");
			o->load.requests = u;
			break;
		case OPT_RATE:
			if (bench_num(optarg, 0.001, 1e7, &d) != 0)
				return bench_usage_error("--rate wants requests per second > 0");
			o->load.rate = d;
			break;
		case OPT_TIMEOUT:
			if (bench_num(optarg, 0.001, 86400, &d) != 0)
				return bench_usage_error("--timeout wants seconds > 0");
			o->load.timeout = d;
			break;
		case OPT_INSECURE:
			o->insecure = true;
			break;
		case OPT_CA_FILE:
			o->ca_file = optarg;
			break;
		case OPT_COMPRESS:
			o->compress = true;
			break;
		case OPT_XOR:
			o->xor = true;
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_ALLOW_ERRORS:
			o->allow_errors = true;
			break;
		case OPT_BASELINE:
			o->baseline = true;
			break;
		case OPT_BASELINE_TLS:
			o->baseline_tls = true;
			break;
		case OPT_BASELINE_ERROR: {
			uint32_t ec;
			char *end;
			unsigned long v;

			if (mbx_ec_from_name(optarg, &ec) == 0) {
				o->baseline_ec = ec;
				break;
			}
			errno = 0;
			v = strtoul(optarg, &end, 0);
			if (errno != 0 || end == optarg || *end != '\0' || v == 0 || v > UINT32_MAX)
				return bench_usage_error("--baseline-error wants an ec name "
				                         "(ecUnknownUser) or a non-zero number");
			o->baseline_ec = (uint32_t)v;
			break;
		}
		case OPT_BASELINE_CLOSE:
			if (bench_u64(optarg, 1, UINT32_MAX, &u) != 0)
				return bench_usage_error("--baseline-close wants a count >= 1");
			o->baseline_close = (unsigned)u;
			break;
		case OPT_SERVE:
			o->serve = true;
			break;
		case OPT_LISTEN:
			o->listen = optarg;
			break;
		case OPT_CERT_OUT:
			o->cert_out = optarg;
			break;
		case OPT_CLIENT_APP:
			if (mbx_mh_hdr_client_app_check(optarg, NULL) != 0)
				return bench_usage_error("--client-application wants 1..%u printable "
				                         "ASCII characters",
				                         MBX_MH_CLIENTAPP_MAX);
			o->client_app = optarg;
			break;
		case OPT_SERVER_PID:
			if (bench_u64(optarg, 1, INT32_MAX, &o->server_pid) != 0)
				return bench_usage_error("--server-pid wants a process id");
			break;
		case OPT_SELF_TEST:
			o->self_test = true;
			break;
		case 'h':
			bench_usage(stdout);
			exit(BENCH_EXIT_OK);
		case 'V':
			printf("mbxbench %s\n", MBX_VERSION);
			exit(BENCH_EXIT_OK);
		default:
			if (optopt != 0 && optopt < 256)
				return bench_usage_error("bad or incomplete option -%c", optopt);
			return bench_usage_error("bad or incomplete option %s", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return bench_usage_error("unexpected argument %s", argv[optind]);
	if (o->self_test || o->serve)
		return 0;
	if (o->url == NULL && !o->baseline)
		return bench_usage_error("give --url, --baseline, or both");
	if (o->url != NULL && (o->user == NULL || o->password_file == NULL || o->legacy_dn == NULL))
		return bench_usage_error("--url needs --user, --password-file and --legacy-dn");
	if (o->insecure && o->ca_file != NULL)
		return bench_usage_error("--insecure and --ca-file exclude each other");
	if (o->cert_out != NULL)
		return bench_usage_error("--cert-out is for --serve");
	if ((o->baseline_ec != 0 || o->baseline_close != 0) && !o->baseline)
		return bench_usage_error("--baseline-error and --baseline-close are for --baseline "
		                         "and --serve");
	return 0;
}

/* ---- --serve ----------------------------------------------------------------------------------- */

static void bench_stop_cb(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopbreak(arg);
}

/* A server_cpu probe: the CPU time of process *arg (user + system, all its threads) from
 * /proc/PID/stat, in clock ticks (10 ms on Linux), or -1. */
static double bench_pid_cpu(void *arg)
{
	const uint64_t *pid = arg;
	char path[64], buf[1024];
	const char *p;
	unsigned long long utime, stime;
	long hz = sysconf(_SC_CLK_TCK);
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%llu/stat", (unsigned long long)*pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* pid (comm) state ppid ...: comm may hold spaces and parentheses; fields 14 and 15 are
	 * utime and stime, the 12th and 13th after the last ')'. */
	p = strrchr(buf, ')');
	if (p == NULL || hz <= 0 ||
	    sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
	           &stime) != 2)
		return -1;
	return (double)(utime + stime) / (double)hz;
}

static int bench_serve(const struct bench_opts *o, const struct bench_mapi_bodies *b)
{
	struct bench_responder_opts ro = {
	        .tls = o->baseline_tls,
	        .listen = o->listen,
	        .logon_ec = o->baseline_ec,
	        .exec_flags = b->exec_flags,
	        .xor = o->xor,
	        .close_every = o->baseline_close,
	};
	struct bench_responder *r;
	struct event_base *base = event_base_new();
	struct event *sig1, *sig2, *timer = NULL;
	char err[256];

	if (base == NULL)
		return BENCH_EXIT_FAIL;
	r = bench_responder_start(&ro, err, sizeof(err));
	if (r == NULL) {
		fprintf(stderr, "mbxbench: %s\n", err);
		event_base_free(base);
		return BENCH_EXIT_FAIL;
	}
	if (o->cert_out != NULL) {
		FILE *f = fopen(o->cert_out, "w");

		if (f == NULL || bench_responder_cert(r) == NULL ||
		    PEM_write_X509(f, bench_responder_cert(r)) != 1) {
			fprintf(stderr, "mbxbench: cannot write the certificate to %s\n", o->cert_out);
			if (f != NULL)
				fclose(f);
			bench_responder_stop(&r);
			event_base_free(base);
			return BENCH_EXIT_FAIL;
		}
		fclose(f);
	}
	sig1 = evsignal_new(base, SIGINT, bench_stop_cb, base);
	sig2 = evsignal_new(base, SIGTERM, bench_stop_cb, base);
	evsignal_add(sig1, NULL);
	evsignal_add(sig2, NULL);
	if (o->duration_set) {
		/* No libm: the tools link mbxcore only. */
		time_t whole = (time_t)o->load.duration;
		struct timeval tv = {whole, (suseconds_t)((o->load.duration - (double)whole) * 1e6)};

		timer = evtimer_new(base, bench_stop_cb, base);
		evtimer_add(timer, &tv);
	}
	printf("serving %s\n", bench_responder_url(r));
	fflush(stdout);
	event_base_loop(base, EVLOOP_NO_EXIT_ON_EMPTY);
	fprintf(stderr, "mbxbench: served %llu requests\n",
	        (unsigned long long)bench_responder_requests(r));
	bench_responder_stop(&r);
	event_free(sig1);
	event_free(sig2);
	if (timer != NULL)
		event_free(timer);
	event_base_free(base);
	return BENCH_EXIT_OK;
}

/* ---- the runs ---------------------------------------------------------------------------------- */

static struct event_base *bench_base(void)
{
	struct event_config *cfg = event_config_new();
	struct event_base *base;

	if (cfg == NULL)
		return NULL;
	/* Microsecond timers (timerfd) for the open-loop schedule. */
	event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	return base;
}

int main(int argc, char **argv)
{
	struct bench_opts o;
	struct bench_mapi_opts mo;
	struct bench_mapi_bodies bodies;
	struct bench_target daemon_t, base_t;
	struct bench_result daemon_r, base_r;
	struct bench_report rep;
	struct event_base *base = NULL;
	struct bench_responder *resp = NULL;
	SSL_CTX *dctx = NULL, *bctx = NULL;
	char password[BENCH_PASSWORD_MAX + 2], err[512];
	bool have_daemon = false, have_base = false, failed = false;
	int rc;

	rc = bench_parse(argc, argv, &o);
	if (rc != 0)
		return rc;
	if (o.self_test)
		return bench_selftest();
	signal(SIGPIPE, SIG_IGN);
	if (evthread_use_pthreads() != 0) {
		fprintf(stderr, "mbxbench: libevent without thread support\n");
		return BENCH_EXIT_FAIL;
	}

	mo.legacy_dn = o.legacy_dn != NULL ? o.legacy_dn : BENCH_BASELINE_DN;
	mo.user_dn = o.user_dn;
	mo.compress = o.compress;
	mo.xor = o.xor;
	if (bench_mapi_build(&mo, &bodies, err, sizeof(err)) != 0) {
		fprintf(stderr, "mbxbench: %s\n", err);
		return o.legacy_dn != NULL ? BENCH_EXIT_USAGE : BENCH_EXIT_FAIL;
	}
	if (o.serve) {
		rc = bench_serve(&o, &bodies);
		bench_mapi_free(&bodies);
		return rc;
	}
	o.load.bodies = &bodies;
	o.load.client_app = o.client_app;

	if (o.url != NULL) {
		if (bench_read_password(o.password_file, password, sizeof(password), err,
		                        sizeof(err)) != 0) {
			fprintf(stderr, "mbxbench: %s\n", err);
			rc = BENCH_EXIT_USAGE;
			goto out;
		}
		if (bench_target_parse(&daemon_t, "daemon", o.url, err, sizeof(err)) != 0) {
			fprintf(stderr, "mbxbench: %s\n", err);
			rc = BENCH_EXIT_USAGE;
			goto out;
		}
		if (daemon_t.tls) {
			dctx = bench_tls_client_ctx(o.insecure, o.ca_file, err, sizeof(err));
			if (dctx == NULL) {
				fprintf(stderr, "mbxbench: %s\n", err);
				rc = BENCH_EXIT_FAIL;
				goto out;
			}
			daemon_t.ssl = dctx;
		}
	}
	base = bench_base();
	if (base == NULL) {
		fprintf(stderr, "mbxbench: cannot create the event loop\n");
		rc = BENCH_EXIT_FAIL;
		goto out;
	}

	if (o.url != NULL) {
		struct bench_load l = o.load;

		l.user = o.user;
		l.password = password;
		if (o.server_pid != 0) {
			daemon_t.server_cpu = bench_pid_cpu;
			daemon_t.server_cpu_arg = &o.server_pid;
		}
		if (bench_client_run(base, &daemon_t, &l, &daemon_r) != 0)
			failed = true;
		have_daemon = true;
		OPENSSL_cleanse(password, sizeof(password));
	}

	/* A daemon run that could not run (no session) or was interrupted ends it here. */
	if (o.baseline && !(have_daemon && daemon_r.aborted)) {
		struct bench_responder_opts ro = {
		        .tls = o.baseline_tls || (o.url != NULL && daemon_t.tls),
		        .listen = NULL,
		        .body_size = have_daemon && daemon_r.ok > 0 ? daemon_r.rsp_bytes : 0,
		        .logon_ec = o.baseline_ec,
		        .exec_flags = bodies.exec_flags,
		        .xor = o.xor,
		        .close_every = o.baseline_close,
		};
		struct bench_load l = o.load;

		resp = bench_responder_start(&ro, err, sizeof(err));
		if (resp == NULL) {
			fprintf(stderr, "mbxbench: baseline: %s\n", err);
			rc = BENCH_EXIT_FAIL;
			goto out;
		}
		if (bench_target_parse(&base_t, "baseline", bench_responder_url(resp), err,
		                       sizeof(err)) != 0) {
			fprintf(stderr, "mbxbench: baseline: %s\n", err);
			rc = BENCH_EXIT_FAIL;
			goto out;
		}
		if (base_t.tls) {
			bctx = bench_tls_client_ctx(false, NULL, err, sizeof(err));
			if (bctx == NULL ||
			    X509_STORE_add_cert(SSL_CTX_get_cert_store(bctx),
			                        bench_responder_cert(resp)) != 1) {
				fprintf(stderr, "mbxbench: baseline: cannot trust its certificate\n");
				rc = BENCH_EXIT_FAIL;
				goto out;
			}
			base_t.ssl = bctx;
		}
		base_t.server_cpu = bench_responder_cpu;
		base_t.server_cpu_arg = resp;
		l.user = o.user != NULL ? o.user : BENCH_BASELINE_USER;
		l.password = "mbxbench";
		if (bench_client_run(base, &base_t, &l, &base_r) != 0)
			failed = true;
		have_base = true;
	}

	memset(&rep, 0, sizeof(rep));
	rep.load = &o.load;
	rep.bodies = &bodies;
	rep.daemon = have_daemon ? &daemon_r : NULL;
	rep.baseline = have_base ? &base_r : NULL;
	rep.baseline_body = resp != NULL ? bench_responder_body_size(resp) : 0;
	if (o.json) {
		if (bench_report_json(stdout, &rep) != 0)
			failed = true;
	} else {
		bench_report_text(stdout, &rep);
		fflush(stdout);
	}
	if (have_daemon && (daemon_r.aborted || (daemon_r.errors > 0 && !o.allow_errors)))
		failed = true;
	if (have_base && (base_r.aborted || (base_r.errors > 0 && !o.allow_errors)))
		failed = true;
	if (have_daemon && daemon_r.aborted)
		fprintf(stderr, "mbxbench: daemon: %s\n", daemon_r.abort_why);
	if (have_base && base_r.aborted)
		fprintf(stderr, "mbxbench: baseline: %s\n", base_r.abort_why);
	if (!o.allow_errors && ((have_daemon && daemon_r.errors > 0) ||
	                        (have_base && base_r.errors > 0)))
		fprintf(stderr, "mbxbench: the run had failures (see \"failure:\"); "
		                "--allow-errors accepts them\n");
	rc = failed ? BENCH_EXIT_FAIL : BENCH_EXIT_OK;
out:
	if (have_daemon)
		bench_result_deinit(&daemon_r);
	if (have_base)
		bench_result_deinit(&base_r);
	bench_responder_stop(&resp);
	if (base != NULL)
		event_base_free(base);
	if (dctx != NULL)
		SSL_CTX_free(dctx);
	if (bctx != NULL)
		SSL_CTX_free(bctx);
	bench_mapi_free(&bodies);
	OPENSSL_cleanse(password, sizeof(password));
	return rc;
}
