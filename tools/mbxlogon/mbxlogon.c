/*
 * mbxlogon.c: main() of mbxlogon(1), the test MAPI client (design.md "Programs"; issue #5):
 * the command line, the password, the offline --parse-autodiscover mode, and the exit status
 * (LOGON_EXIT_* in mbxlogon.h, documented in docs/man/mbxlogon.1 and --help). The client itself
 * is logon-follow.c.
 */
#include "mbxlogon.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LOGON_PASSWORD_MAX 1024u
#define LOGON_PARSE_MAX (256u * 1024u)

bool logon_verbose;

/* "mbxlogon: message" on standard error, after what standard output holds. */
static void logon_vmsg(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

static void logon_vmsg(const char *fmt, va_list ap)
{
	fflush(stdout);
	fputs("mbxlogon: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void logon_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	logon_vmsg(fmt, ap);
	va_end(ap);
}

void logon_trace(const char *fmt, ...)
{
	va_list ap;

	if (!logon_verbose)
		return;
	va_start(ap, fmt);
	logon_vmsg(fmt, ap);
	va_end(ap);
}

static void logon_usage(FILE *f)
{
	fprintf(f,
	        "usage: mbxlogon [options] EMAIL\n"
	        "       mbxlogon [options] --mailbox-url URL --legacy-dn DN [EMAIL]\n"
	        "       mbxlogon [--json] --parse-autodiscover FILE\n"
	        "Logs on to a mailbox as a MAPI client does: Autodiscover, MAPI over HTTP "
	        "Connect,\n"
	        "RopLogon, Disconnect, following ecWrongServer, Autodiscover redirects and\n"
	        "ecUnknownUser / ecLoginFailure, waiting out ecMailboxInTransit.\n"
	        "\n"
	        "  --autodiscover-url URL  where to POST Autodiscover (default: https://DOMAIN/\n"
	        "                          autodiscover/autodiscover.xml, then "
	        "https://autodiscover.\n"
	        "                          DOMAIN/...)\n"
	        "  --mailbox-url URL       skip Autodiscover: the MAPI/HTTP mailbox URL ...\n"
	        "  --legacy-dn DN          ... and the user's legacyExchangeDN\n"
	        "  --user USER             HTTP Basic user name (default: EMAIL)\n"
	        "  --password-file FILE    the password is FILE's first line (or set\n"
	        "                          MBXLOGON_PASSWORD)\n"
	        "  --ca-file FILE          trust the CA certificates in FILE (PEM)\n"
	        "  -k, --insecure          do not verify the server's certificate\n"
	        "  --connect-to H:P:H2:P2  send requests for H:P to H2:P2 (repeatable)\n"
	        "  --wait-transit SECONDS  retry while the mailbox is in transit (default 0)\n"
	        "  --max-hops N            stop after N hops (default 10)\n"
	        "  --timeout SECONDS       per request (default 30)\n"
	        "  --external              prefer the ExternalUrl of the settings\n"
	        "  --json                  print one JSON document instead of lines\n"
	        "  --parse-autodiscover FILE  parse a saved Autodiscover response (- for stdin)\n"
	        "  -v, --verbose           trace the HTTP requests and status lines on stderr\n"
	        "  -V, --version           print the version\n"
	        "  -h, --help              print this help\n"
	        "\n"
	        "Exit status: 0 logged on; 1 logon refused (following it led nowhere); 2 usage;\n"
	        "3 mailbox in transit longer than --wait-transit; 4 too many hops or a loop;\n"
	        "5 Autodiscover error or nothing usable; 6 transport failure (connection, TLS, "
	        "HTTP\n"
	        "status, X-ResponseCode, malformed response); 7 authentication failed (HTTP "
	        "401).\n");
}

enum {
	OPT_AUTODISCOVER_URL = 256,
	OPT_MAILBOX_URL,
	OPT_LEGACY_DN,
	OPT_USER,
	OPT_PASSWORD_FILE,
	OPT_CA_FILE,
	OPT_CONNECT_TO,
	OPT_WAIT_TRANSIT,
	OPT_MAX_HOPS,
	OPT_TIMEOUT,
	OPT_EXTERNAL,
	OPT_JSON,
	OPT_PARSE_AD,
};

static const struct option logon_longopts[] = {
        {"autodiscover-url", required_argument, NULL, OPT_AUTODISCOVER_URL},
        {"mailbox-url", required_argument, NULL, OPT_MAILBOX_URL},
        {"legacy-dn", required_argument, NULL, OPT_LEGACY_DN},
        {"user", required_argument, NULL, OPT_USER},
        {"password-file", required_argument, NULL, OPT_PASSWORD_FILE},
        {"ca-file", required_argument, NULL, OPT_CA_FILE},
        {"insecure", no_argument, NULL, 'k'},
        {"connect-to", required_argument, NULL, OPT_CONNECT_TO},
        {"wait-transit", required_argument, NULL, OPT_WAIT_TRANSIT},
        {"max-hops", required_argument, NULL, OPT_MAX_HOPS},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"external", no_argument, NULL, OPT_EXTERNAL},
        {"json", no_argument, NULL, OPT_JSON},
        {"parse-autodiscover", required_argument, NULL, OPT_PARSE_AD},
        {"verbose", no_argument, NULL, 'v'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
};

/* A decimal number within min..max. */
static int logon_number(const char *opt, const char *s, unsigned min, unsigned max, unsigned *v_r)
{
	char *end;
	unsigned long v;

	errno = 0;
	if (s[0] < '0' || s[0] > '9' || (v = strtoul(s, &end, 10), *end != '\0') || errno != 0 ||
	    v < min || v > max) {
		logon_err("%s: \"%s\" is not a number from %u to %u", opt, s, min, max);
		return -1;
	}
	*v_r = (unsigned)v;
	return 0;
}

static bool logon_url_ok(const char *opt, const char *u)
{
	if ((strncasecmp(u, "https://", 8) == 0 && u[8] != '\0') ||
	    (strncasecmp(u, "http://", 7) == 0 && u[7] != '\0')) {
		if (strlen(u) < LOGON_URL_MAX)
			return true;
		logon_err("%s: the URL is longer than %u bytes", opt, LOGON_URL_MAX - 1);
		return false;
	}
	logon_err("%s: \"%s\" is not an http:// or https:// URL", opt, u);
	return false;
}

/* printable ASCII, 1..max-1 bytes */
static bool logon_printable(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n >= max)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7E)
			return false;
	return true;
}

static bool logon_email_ok(const char *e)
{
	const char *at = strrchr(e, '@');

	return logon_printable(e, LOGON_DN_MAX) && at != NULL && at != e && at[1] != '\0' &&
	       strchr(at + 1, '/') == NULL && strchr(e, ' ') == NULL;
}

/* The first line of file, without its line end, into buf. */
static int logon_read_password(const char *file, char *buf, size_t size)
{
	FILE *f = fopen(file, "r");
	size_t n;

	if (f == NULL) {
		logon_err("cannot read the password file %s: %s", file, strerror(errno));
		return -1;
	}
	if (fgets(buf, (int)size, f) == NULL) {
		bool err = ferror(f);

		fclose(f);
		if (err)
			logon_err("cannot read the password file %s: %s", file, strerror(errno));
		else
			logon_err("the password file %s is empty", file);
		return -1;
	}
	fclose(f);
	n = strlen(buf);
	if (n > 0 && buf[n - 1] != '\n' && n == size - 1) {
		logon_err("the password in %s is longer than %zu bytes", file, size - 2);
		return -1;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	return 0;
}

/* --parse-autodiscover: exit 0 for settings or a redirect, 5 for an error answer or a response
 * we cannot use, 2 if the file cannot be read. */
static int logon_parse_file(const char *file, bool json)
{
	FILE *f = strcmp(file, "-") == 0 ? stdin : fopen(file, "rb");
	char *buf, err[LOGON_MSG_MAX];
	struct logon_ad_result *res;
	size_t len;
	int rc;

	if (f == NULL) {
		logon_err("cannot read %s: %s", file, strerror(errno));
		return LOGON_EXIT_USAGE;
	}
	buf = malloc(LOGON_PARSE_MAX + 1);
	res = malloc(sizeof(*res));
	if (buf == NULL || res == NULL) {
		free(buf);
		free(res);
		if (f != stdin)
			fclose(f);
		logon_err("out of memory");
		return LOGON_EXIT_USAGE;
	}
	len = fread(buf, 1, LOGON_PARSE_MAX + 1, f);
	rc = ferror(f);
	if (f != stdin)
		fclose(f);
	if (rc != 0) {
		logon_err("cannot read %s", file);
		rc = LOGON_EXIT_USAGE;
	} else if (len > LOGON_PARSE_MAX) {
		logon_err("%s: larger than %u bytes", file, LOGON_PARSE_MAX);
		rc = LOGON_EXIT_AUTODISCOVER;
	} else if (logon_ad_parse(buf, len, res, err, sizeof(err)) != 0) {
		logon_err("%s: %s", file, err);
		rc = LOGON_EXIT_AUTODISCOVER;
	} else {
		rc = res->kind == LOGON_AD_ERROR ? LOGON_EXIT_AUTODISCOVER : LOGON_EXIT_OK;
		if (res->kind == LOGON_AD_SETTINGS && logon_ad_mailbox_url(res, false) == NULL) {
			logon_err("%s: settings without a mapiHttp MailStore URL", file);
			rc = LOGON_EXIT_AUTODISCOVER;
		}
		if (logon_out_ad_result(res, json) != 0)
			rc = LOGON_EXIT_TRANSPORT;
	}
	free(buf);
	free(res);
	return rc;
}

int main(int argc, char **argv)
{
	static char password[LOGON_PASSWORD_MAX + 2];
	struct logon_opts o = {.wait_transit = 0, .max_hops = 10, .timeout = 30};
	const char *password_file = NULL, *parse_file = NULL;
	struct logon_http *http;
	struct logon_out *out;
	char err[LOGON_MSG_MAX];
	int c, rc;

	while ((c = getopt_long(argc, argv, "kvVh", logon_longopts, NULL)) != -1) {
		switch (c) {
		case OPT_AUTODISCOVER_URL:
			o.autodiscover_url = optarg;
			break;
		case OPT_MAILBOX_URL:
			o.mailbox_url = optarg;
			break;
		case OPT_LEGACY_DN:
			o.legacy_dn = optarg;
			break;
		case OPT_USER:
			o.user = optarg;
			break;
		case OPT_PASSWORD_FILE:
			password_file = optarg;
			break;
		case OPT_CA_FILE:
			o.ca_file = optarg;
			break;
		case 'k':
			o.insecure = true;
			break;
		case OPT_CONNECT_TO:
			if (o.nconnect_to == sizeof(o.connect_to) / sizeof(o.connect_to[0])) {
				logon_err("--connect-to: at most %zu",
				          sizeof(o.connect_to) / sizeof(o.connect_to[0]));
				return LOGON_EXIT_USAGE;
			}
			o.connect_to[o.nconnect_to++] = optarg;
			break;
		case OPT_WAIT_TRANSIT:
			if (logon_number("--wait-transit", optarg, 0, 86400, &o.wait_transit) != 0)
				return LOGON_EXIT_USAGE;
			break;
		case OPT_MAX_HOPS:
			if (logon_number("--max-hops", optarg, 1, 1000, &o.max_hops) != 0)
				return LOGON_EXIT_USAGE;
			break;
		case OPT_TIMEOUT:
			if (logon_number("--timeout", optarg, 1, 3600, &o.timeout) != 0)
				return LOGON_EXIT_USAGE;
			break;
		case OPT_EXTERNAL:
			o.external = true;
			break;
		case OPT_JSON:
			o.json = true;
			break;
		case OPT_PARSE_AD:
			parse_file = optarg;
			break;
		case 'v':
			o.verbose = logon_verbose = true;
			break;
		case 'V':
			printf("mbxlogon %s\n", MBX_VERSION);
			return LOGON_EXIT_OK;
		case 'h':
			logon_usage(stdout);
			return LOGON_EXIT_OK;
		default:
			logon_usage(stderr);
			return LOGON_EXIT_USAGE;
		}
	}
	if (parse_file != NULL) {
		if (optind != argc) {
			logon_err("--parse-autodiscover takes no EMAIL");
			return LOGON_EXIT_USAGE;
		}
		return logon_parse_file(parse_file, o.json);
	}
	if (argc - optind > 1) {
		logon_err("one EMAIL only (\"%s\" is extra)", argv[optind + 1]);
		return LOGON_EXIT_USAGE;
	}
	if (optind < argc)
		o.email = argv[optind];
	if (o.email == NULL && o.mailbox_url == NULL) {
		logon_err("no EMAIL (or --mailbox-url URL --legacy-dn DN)");
		logon_usage(stderr);
		return LOGON_EXIT_USAGE;
	}
	if (o.email != NULL && !logon_email_ok(o.email)) {
		logon_err("\"%s\" is not an e-mail address", o.email);
		return LOGON_EXIT_USAGE;
	}
	if ((o.mailbox_url != NULL) != (o.legacy_dn != NULL)) {
		logon_err("--mailbox-url and --legacy-dn go together");
		return LOGON_EXIT_USAGE;
	}
	if (o.legacy_dn != NULL && !logon_printable(o.legacy_dn, LOGON_DN_MAX)) {
		logon_err("--legacy-dn: not printable ASCII of 1 to %u bytes", LOGON_DN_MAX - 1);
		return LOGON_EXIT_USAGE;
	}
	if ((o.mailbox_url != NULL && !logon_url_ok("--mailbox-url", o.mailbox_url)) ||
	    (o.autodiscover_url != NULL && !logon_url_ok("--autodiscover-url", o.autodiscover_url)))
		return LOGON_EXIT_USAGE;
	if (o.ca_file != NULL && o.insecure) {
		logon_err("--ca-file and --insecure exclude each other");
		return LOGON_EXIT_USAGE;
	}
	o.user = o.user != NULL ? o.user : o.email;
	if (o.user == NULL) {
		logon_err("no user name: give --user USER (or EMAIL)");
		return LOGON_EXIT_USAGE;
	}
	if (password_file != NULL) {
		if (logon_read_password(password_file, password, sizeof(password)) != 0)
			return LOGON_EXIT_USAGE;
		o.password = password;
	} else if ((o.password = getenv("MBXLOGON_PASSWORD")) == NULL) {
		logon_err("no password: give --password-file FILE or set MBXLOGON_PASSWORD");
		return LOGON_EXIT_USAGE;
	}

	http = logon_http_new(&o, err, sizeof(err));
	out = logon_out_new(o.json);
	if (http == NULL || out == NULL) {
		logon_err("%s", http == NULL ? err : "out of memory");
		logon_http_free(&http);
		logon_out_free(&out);
		return LOGON_EXIT_TRANSPORT;
	}
	rc = logon_follow_run(&o, http, out);
	logon_http_free(&http);
	logon_out_free(&out);
	return rc;
}
