/*
 * config-table.c: the table of mbxstored's configuration (conventions.md "Configuration",
 * after tmux's options-table.c): every section and key with its type, default, bounds and
 * help. The parser (config.c), the sample file conf/mbxstored.conf and the manual
 * mbxstored.conf(5) all read this table; `mbxconfgen sample|man` regenerates the last two and
 * tests/cli/config-generated.sh fails when they are stale.
 *
 * Values come from design.md, protocol.md 5 (X-PendingPeriod, X-ExpirationInfo, the MAPI/HTTP
 * limits) and 8 (attribute names), and the headers of the modules that get them
 * (directory.h struct mbx_dir_config, mailbox.h struct mbx_server_identity, mailbox-table.h,
 * log.h). Defaults are written as they would be in the file and go through the same parser.
 */
#include <stddef.h>
#include <syslog.h>

#include "mbx/config.h"
#include "mbx/log.h"

#define OFF(f) offsetof(struct mbx_config, f)
#define FOFF(f) offsetof(struct mbx_config_forest, f)

/* --- value lists --------------------------------------------------------------------------- */

static const struct mbx_config_value config_backends[] = {
        {"ldif", MBX_CONFIG_BACKEND_LDIF,
         "an LDIF file loaded into memory (the embedded directory; needs no server)"},
        {"ldap", MBX_CONFIG_BACKEND_LDAP,
         "LDAP servers (OpenLDAP or Active Directory), asynchronous, with failover"},
        {NULL, 0, NULL},
};

static const struct mbx_config_value config_tls_versions[] = {
        {"1.2", 0x0303, NULL},
        {"1.3", 0x0304, NULL},
        {NULL, 0, NULL},
};

static const struct mbx_config_value config_log_targets[] = {
        {"stderr", MBX_CONFIG_LOG_STDERR, "standard error (the journal, under systemd)"},
        {"syslog", MBX_CONFIG_LOG_SYSLOG, "syslog(3), with facility"},
        {NULL, 0, NULL},
};

static const struct mbx_config_value config_facilities[] = {
        {"daemon", LOG_DAEMON, NULL}, {"mail", LOG_MAIL, NULL},     {"user", LOG_USER, NULL},
        {"local0", LOG_LOCAL0, NULL}, {"local1", LOG_LOCAL1, NULL}, {"local2", LOG_LOCAL2, NULL},
        {"local3", LOG_LOCAL3, NULL}, {"local4", LOG_LOCAL4, NULL}, {"local5", LOG_LOCAL5, NULL},
        {"local6", LOG_LOCAL6, NULL}, {"local7", LOG_LOCAL7, NULL}, {NULL, 0, NULL},
};

static const struct mbx_config_value config_levels[] = {
        {"error", MBX_LOG_ERROR, NULL},   {"warning", MBX_LOG_WARNING, NULL},
        {"notice", MBX_LOG_NOTICE, NULL}, {"info", MBX_LOG_INFO, NULL},
        {"debug", MBX_LOG_DEBUG, NULL},   {NULL, 0, NULL},
};

static const struct mbx_config_value config_traces[] = {
        {"rop", MBX_TRACE_ROP, "every ROP request and response"},
        {"http", MBX_TRACE_HTTP, "MAPI/HTTP and Autodiscover requests and responses"},
        {"ldap", MBX_TRACE_LDAP, "directory lookups, connections and change notifications"},
        {"store", MBX_TRACE_STORE, "the mailbox table and logon decisions"},
        {NULL, 0, NULL},
};

/* --- the keys ------------------------------------------------------------------------------ */

const struct mbx_config_key mbx_config_keys[] = {
        /* [server] */
        {
                .section = "server",
                .name = "name",
                .type = MBX_CONFIG_STRING,
                .offset = OFF(server.name),
                .min = 1,
                .max = MBX_CONFIG_NAME_MAX,
                .flags = MBX_CONFIG_F_REQUIRED,
                .example = "SERVER1",
                .check = mbx_config_check_server_name,
                .check_doc = "letters, digits and hyphens",
                .help = "This server's name: the cn of its server object in the directory and the "
                        "last part of its legacyExchangeDN. It names the server in logs and finds "
                        "its own base URL in [servers].",
        },
        {
                .section = "server",
                .name = "legacy_dn",
                .type = MBX_CONFIG_STRING,
                .offset = OFF(server.legacy_dn),
                .min = 1,
                .max = 1023,
                .flags = MBX_CONFIG_F_REQUIRED,
                .example = "/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)"
                           "/cn=Configuration/cn=Servers/cn=SERVER1",
                .check = mbx_config_check_legacy_dn,
                .check_doc = "an X.500-style ESSDN starting with /o=",
                .help = "This server's legacyExchangeDN. A mailbox whose database names no owning "
                        "server is hosted here when its msExchHomeServerName is this string "
                        "(compared case-insensitively).",
        },
        {
                .section = "server",
                .name = "ldap_dn",
                .type = MBX_CONFIG_STRING,
                .offset = OFF(server.ldap_dn),
                .min = 1,
                .max = 1023,
                .flags = MBX_CONFIG_F_REQUIRED,
                .example =
                        "cn=SERVER1,cn=Servers,cn=Exchange Administrative Group (FYDIBOHF23SPDLT),"
                        "cn=Administrative Groups,cn=Contoso,cn=Microsoft Exchange,cn=Services,"
                        "cn=Configuration,dc=contoso,dc=com",
                .check = mbx_config_check_dn,
                .check_doc = "an LDAP DN",
                .help = "The LDAP DN of this server's object in the directory. A mailbox is hosted "
                        "here when the msExchOwningServer of its homeMDB database is this DN; a "
                        "database owned by another server means the mailbox moved there "
                        "(ecWrongServer).",
        },
        {
                .section = "server",
                .name = "organization",
                .type = MBX_CONFIG_STRING,
                .offset = OFF(server.organization),
                .min = 1,
                .max = 255,
                .help = "The Exchange organization's name. Not set: the /o= part of legacy_dn; "
                        "set, "
                        "legacy_dn must begin with /o=organization/.",
        },
        {
                .section = "server",
                .name = "exchange2003_compat",
                .type = MBX_CONFIG_BOOL,
                .offset = OFF(server.exchange2003_compat),
                .def = "no",
                .help = "Answer a logon to a mailbox that moved to another forest with "
                        "ecLoginFailure, as Exchange 2003 did, instead of ecUnknownUser "
                        "(MS-OXMVMBX note 1). Clients treat both alike.",
        },
        {
                .section = "server",
                .name = "server_application",
                .type = MBX_CONFIG_STRING,
                .offset = OFF(server.server_application),
                .def = "Exchange/15.01.2176.009",
                .min = 1,
                .max = 127,
                .check = mbx_config_check_token,
                .check_doc = "printable ASCII without spaces",
                .help = "The X-ServerApplication header of every MAPI/HTTP response: clients read "
                        "the server's Exchange version from it (MS-OXPROTO 2.6.2), so keep the "
                        "form "
                        "Exchange/major.minor.build.revision.",
        },
        {
                .section = "server",
                .name = "user",
                .type = MBX_CONFIG_STRING,
                .offset = OFF(server.user),
                .min = 1,
                .max = 32,
                .check = mbx_config_check_unix_name,
                .check_doc = "a user name",
                .help = "When started as root, switch to this user (and its groups) once the "
                        "sockets are open and the TLS key is read. Not set: keep the identity the "
                        "daemon was started with.",
        },
        {
                .section = "server",
                .name = "pid_file",
                .type = MBX_CONFIG_PATH,
                .offset = OFF(server.pid_file),
                .max = 4095,
                .help = "Write the daemon's process id to this file. Not set: no pid file (systemd "
                        "needs none).",
        },
        {
                .section = "server",
                .name = "state_dir",
                .type = MBX_CONFIG_PATH,
                .offset = OFF(server.state_dir),
                .def = "/var/lib/mbxstored",
                .max = 4095,
                .help = "Folder for what the daemon writes itself: the self-signed certificate and "
                        "key it creates when tls_cert and tls_key are not set. It must be writable "
                        "by user.",
        },

        /* [listen] */
        {
                .section = "listen",
                .name = "https",
                .type = MBX_CONFIG_ADDR_LIST,
                .offset = OFF(listen.https),
                .count_offset = OFF(listen.nhttps),
                .def = "0.0.0.0:443",
                .min = 0,
                .max = 16,
                .help = "Addresses where MAPI over HTTP (/mapi/emsmdb/, /mapi/nspi/) and "
                        "Autodiscover "
                        "are served over TLS, separated by spaces. Empty: no TLS listener, which "
                        "needs plain_http.",
        },
        {
                .section = "listen",
                .name = "tls_cert",
                .type = MBX_CONFIG_PATH,
                .offset = OFF(listen.tls_cert),
                .max = 4095,
                .help = "The server's certificate chain, PEM, the server's certificate first. Not "
                        "set (nor tls_key): a self-signed certificate for name is made in "
                        "state_dir, "
                        "which clients will not trust without being told to.",
        },
        {
                .section = "listen",
                .name = "tls_key",
                .type = MBX_CONFIG_PATH,
                .offset = OFF(listen.tls_key),
                .max = 4095,
                .help = "The private key of tls_cert, PEM. It is read before the daemon drops root "
                        "privileges, so it may be readable by root only.",
        },
        {
                .section = "listen",
                .name = "tls_ciphers",
                .type = MBX_CONFIG_STRING,
                .offset = OFF(listen.tls_ciphers),
                .min = 1,
                .max = 1023,
                .check = mbx_config_check_token,
                .check_doc = "printable ASCII without spaces",
                .help = "OpenSSL cipher list for TLS 1.2 (ciphers(1ssl)). Not set: OpenSSL's "
                        "default, which follows the system's policy.",
        },
        {
                .section = "listen",
                .name = "tls_min_version",
                .type = MBX_CONFIG_ENUM,
                .offset = OFF(listen.tls_min_version),
                .def = "1.2",
                .values = config_tls_versions,
                .help = "The oldest TLS version accepted.",
        },
        {
                .section = "listen",
                .name = "plain_http",
                .type = MBX_CONFIG_ADDR,
                .offset = OFF(listen.plain_http),
                .flags = MBX_CONFIG_F_LOOPBACK,
                .help = "An address where the same endpoints are served without TLS, for a "
                        "TLS-terminating proxy on this host or for tests. Passwords cross it in "
                        "clear, so it must be a loopback address. Not set: off.",
        },
        {
                .section = "listen",
                .name = "metrics",
                .type = MBX_CONFIG_ADDR,
                .offset = OFF(listen.metrics),
                .flags = MBX_CONFIG_F_LOOPBACK,
                .help = "Address of the plain-HTTP /metrics endpoint (Prometheus text format): "
                        "connections, session contexts, mailbox-table counters, directory state. "
                        "Loopback only. Not set: off.",
        },
        {
                .section = "listen",
                .name = "control_socket",
                .type = MBX_CONFIG_PATH,
                .offset = OFF(listen.control_socket),
                .def = "/run/mbxstored/control.sock",
                .max = 107,
                .help = "The local socket mbxctl(8) talks to (moves, mailbox state, sessions, "
                        "trace, reload). Its folder must exist.",
        },
        {
                .section = "listen",
                .name = "control_socket_mode",
                .type = MBX_CONFIG_MODE,
                .offset = OFF(listen.control_socket_mode),
                .def = "0660",
                .max = 0777,
                .help = "Permissions of the control socket: whoever may connect to it may move "
                        "mailboxes.",
        },
        {
                .section = "listen",
                .name = "control_socket_group",
                .type = MBX_CONFIG_STRING,
                .offset = OFF(listen.control_socket_group),
                .min = 1,
                .max = 32,
                .check = mbx_config_check_unix_name,
                .check_doc = "a group name",
                .help = "Group of the control socket; with control_socket_mode 0660 its members "
                        "may "
                        "run mbxctl. Not set: the daemon's group.",
        },

        /* [limits] */
        {
                .section = "limits",
                .name = "max_connections",
                .type = MBX_CONFIG_UINT,
                .offset = OFF(limits.max_connections),
                .def = "1024",
                .min = 1,
                .max = 1000000,
                .help = "Client connections open at a time, over all listeners; more wait in the "
                        "kernel's accept queue.",
        },
        {
                .section = "limits",
                .name = "request_timeout_seconds",
                .type = MBX_CONFIG_UINT,
                .offset = OFF(limits.request_timeout_seconds),
                .def = "60",
                .min = 1,
                .max = 3600,
                .unit = "seconds",
                .help = "Time a client has to send a whole request, headers and body, and the "
                        "longest a kept-alive connection may sit idle; slower clients are "
                        "disconnected.",
        },
        {
                .section = "limits",
                .name = "max_body_bytes",
                .type = MBX_CONFIG_UINT,
                .offset = OFF(limits.max_body_bytes),
                .def = "1048576",
                .min = 4096,
                .max = 67108864,
                .unit = "bytes",
                .help = "Largest request body; a larger one is answered with X-ResponseCode 9 (Too "
                        "Large). An Execute request with the largest ROP buffer (0x40000 bytes) "
                        "and "
                        "auxiliary buffer (0x1008 bytes) of MS-OXCRPC needs about 270000.",
        },
        {
                .section = "limits",
                .name = "max_rops_per_execute",
                .type = MBX_CONFIG_UINT,
                .offset = OFF(limits.max_rops_per_execute),
                .def = "1024",
                .min = 1,
                .max = 65535,
                .help = "ROPs one Execute request may carry; a longer ROP list is refused as a "
                        "malformed request.",
        },
        {
                .section = "limits",
                .name = "max_contexts",
                .type = MBX_CONFIG_UINT,
                .offset = OFF(limits.max_contexts),
                .def = "10000",
                .min = 1,
                .max = 1000000,
                .help = "Session contexts (MapiContext cookies) alive at a time, all users "
                        "together; "
                        "a Connect past the limit fails.",
        },
        {
                .section = "limits",
                .name = "max_contexts_per_user",
                .type = MBX_CONFIG_UINT,
                .offset = OFF(limits.max_contexts_per_user),
                .def = "32",
                .min = 1,
                .max = 10000,
                .help = "Session contexts one authenticated user may hold at a time.",
        },
        {
                .section = "limits",
                .name = "context_idle_seconds",
                .type = MBX_CONFIG_UINT,
                .offset = OFF(limits.context_idle_seconds),
                .def = "900",
                .min = 10,
                .max = 86400,
                .unit = "seconds",
                .help = "A session context unused this long is destroyed (its next request gets "
                        "X-ResponseCode 10). Sent to clients in milliseconds as X-ExpirationInfo.",
        },
        {
                .section = "limits",
                .name = "pending_period_ms",
                .type = MBX_CONFIG_UINT,
                .offset = OFF(limits.pending_period_ms),
                .def = "15000",
                .min = 100,
                .max = 300000,
                .unit = "milliseconds",
                .help = "Interval of the PENDING keep-alives of a response still being worked on; "
                        "sent as X-PendingPeriod. 15000 is the value of Exchange 2013 SP1 and 2016 "
                        "(MS-OXCMAPIHTTP note 1).",
        },
        {
                .section = "limits",
                .name = "notification_wait_seconds",
                .type = MBX_CONFIG_UINT,
                .offset = OFF(limits.notification_wait_seconds),
                .def = "300",
                .min = 1,
                .max = 3600,
                .unit = "seconds",
                .help = "Longest a NotificationWait request is held when no event comes; then it "
                        "completes with EventPending 0 and the client asks again.",
        },

        /* [directory] */
        {
                .section = "directory",
                .name = "backend",
                .type = MBX_CONFIG_ENUM,
                .offset = OFF(directory.backend),
                .def = "ldif",
                .values = config_backends,
                .help = "Where mailbox, user, database and server objects are read.",
        },
        {
                .section = "directory",
                .name = "ldif_path",
                .type = MBX_CONFIG_PATH,
                .offset = OFF(directory.ldif_path),
                .def = "/var/lib/mbxstored/directory.ldif",
                .max = 4095,
                .help = "ldif backend: the LDIF file. Moves are written back to it (a temporary "
                        "file, "
                        "fsync, rename), so its folder must be writable by user.",
        },
        {
                .section = "directory",
                .name = "uris",
                .type = MBX_CONFIG_LIST,
                .offset = OFF(directory.uris),
                .count_offset = OFF(directory.nuris),
                .min = 0,
                .max = 16,
                .maxlen = 1023,
                .check = mbx_config_check_ldap_uri,
                .check_doc = "ldap://, ldaps:// or ldapi:// URIs",
                .help = "ldap backend: the servers, separated by spaces, tried in order; a server "
                        "that does not answer within network_timeout_ms is skipped and retried in "
                        "the background.",
        },
        {
                .section = "directory",
                .name = "base_dn",
                .type = MBX_CONFIG_STRING,
                .offset = OFF(directory.base_dn),
                .min = 1,
                .max = 1023,
                .check = mbx_config_check_dn,
                .check_doc = "an LDAP DN",
                .help = "ldap backend: the subtree searched, e.g. dc=contoso,dc=com. It must hold "
                        "the "
                        "users and the configuration objects (databases, servers).",
        },
        {
                .section = "directory",
                .name = "bind_dn",
                .type = MBX_CONFIG_STRING,
                .offset = OFF(directory.bind_dn),
                .min = 1,
                .max = 1023,
                .check = mbx_config_check_dn,
                .check_doc = "an LDAP DN",
                .help = "ldap backend: the service account every lookup binds as. Lookups never "
                        "run "
                        "anonymously and never with a user's credentials.",
        },
        {
                .section = "directory",
                .name = "bind_password_file",
                .type = MBX_CONFIG_PATH,
                .offset = OFF(directory.bind_password_file),
                .max = 4095,
                .help = "ldap backend: file whose first line is the service account's password. "
                        "The "
                        "daemon refuses to start when group or others have any permission on it.",
        },
        {
                .section = "directory",
                .name = "ca_file",
                .type = MBX_CONFIG_PATH,
                .offset = OFF(directory.ca_file),
                .max = 4095,
                .help = "ldap backend: CA certificates (PEM) that directory servers' certificates "
                        "must chain to. Not set: the system's CAs.",
        },
        {
                .section = "directory",
                .name = "starttls",
                .type = MBX_CONFIG_BOOL,
                .offset = OFF(directory.starttls),
                .def = "yes",
                .help = "ldap backend: run StartTLS on ldap:// connections and fail when the "
                        "server "
                        "refuses it. ldaps:// is TLS from the start; ldapi:// is local.",
        },
        {
                .section = "directory",
                .name = "cleartext_bind",
                .type = MBX_CONFIG_BOOL,
                .offset = OFF(directory.cleartext_bind),
                .def = "no",
                .help = "ldap backend: allow starttls = no with ldap:// servers that are not on "
                        "loopback, which sends the service password in clear. For test labs only.",
        },
        {
                .section = "directory",
                .name = "network_timeout_ms",
                .type = MBX_CONFIG_UINT,
                .offset = OFF(directory.network_timeout_ms),
                .def = "1000",
                .min = 100,
                .max = 60000,
                .unit = "milliseconds",
                .help = "ldap backend: a server that does not accept a connection within this is "
                        "taken as down and the next one is tried.",
        },
        {
                .section = "directory",
                .name = "request_timeout_ms",
                .type = MBX_CONFIG_UINT,
                .offset = OFF(directory.request_timeout_ms),
                .def = "3000",
                .min = 100,
                .max = 300000,
                .unit = "milliseconds",
                .help = "ldap backend: a lookup not answered within this is abandoned; the logon "
                        "then gets a cached answer or ecNetworkError, never \"unknown user\".",
        },
        {
                .section = "directory",
                .name = "retry_min_ms",
                .type = MBX_CONFIG_UINT,
                .offset = OFF(directory.retry_min_ms),
                .def = "250",
                .min = 10,
                .max = 600000,
                .unit = "milliseconds",
                .help = "ldap backend: first wait before a server found down is tried again; each "
                        "failure doubles it, up to retry_max_ms.",
        },
        {
                .section = "directory",
                .name = "retry_max_ms",
                .type = MBX_CONFIG_UINT,
                .offset = OFF(directory.retry_max_ms),
                .def = "30000",
                .min = 10,
                .max = 3600000,
                .unit = "milliseconds",
                .help = "ldap backend: longest wait between two tries of a server that is down.",
        },
        {
                .section = "directory",
                .name = "content_sync",
                .type = MBX_CONFIG_BOOL,
                .offset = OFF(directory.content_sync),
                .def = "yes",
                .help = "ldap backend: follow changes with LDAP Content Synchronization (RFC 4533) "
                        "when the server offers it (OpenLDAP's syncprov), so that a move made "
                        "elsewhere is seen at once instead of when the cache expires.",
        },
        {
                .section = "directory",
                .name = "group_depth",
                .type = MBX_CONFIG_UINT,
                .offset = OFF(directory.group_depth),
                .def = "8",
                .min = 0,
                .max = 64,
                .help = "Levels of nested groups followed to collect a user's group SIDs for "
                        "msExchMailboxSecurityDescriptor checks: 1 = the groups the user is a "
                        "direct "
                        "member of, 0 = none.",
        },

        /* [cache] */
        {
                .section = "cache",
                .name = "ttl_seconds",
                .type = MBX_CONFIG_UINT,
                .offset = OFF(cache.ttl_seconds),
                .def = "60",
                .min = 0,
                .max = 86400,
                .unit = "seconds",
                .help = "A mailbox's directory facts, and a user's token (SIDs and groups), younger "
                        "than this are used without asking the directory again. A group a user "
                        "was just added to counts after this long. 0: every logon asks.",
        },
        {
                .section = "cache",
                .name = "negative_ttl_seconds",
                .type = MBX_CONFIG_UINT,
                .offset = OFF(cache.negative_ttl_seconds),
                .def = "10",
                .min = 0,
                .max = 86400,
                .unit = "seconds",
                .help = "A mailbox the directory does not know is remembered as unknown this long. "
                        "0: not at all.",
        },
        {
                .section = "cache",
                .name = "stale_max_seconds",
                .type = MBX_CONFIG_UINT,
                .offset = OFF(cache.stale_max_seconds),
                .def = "3600",
                .min = 0,
                .max = 604800,
                .unit = "seconds",
                .help = "While the directory cannot be reached, facts and tokens up to this old "
                        "are still used; a mailbox with nothing that recent gets ecNetworkError, "
                        "a user with no token that recent cannot Connect. 0: never serve stale "
                        "facts.",
        },
        {
                .section = "cache",
                .name = "max_entries",
                .type = MBX_CONFIG_UINT,
                .offset = OFF(cache.max_entries),
                .def = "100000",
                .min = 0,
                .max = 10000000,
                .help = "Mailboxes kept, and users' tokens kept (each bound separately); the least "
                        "recently used are dropped first. 0: no bound.",
        },

        /* [forest.NAME] */
        {
                .section = "forest",
                .name = "domains",
                .type = MBX_CONFIG_LIST,
                .offset = FOFF(domains),
                .count_offset = FOFF(ndomains),
                .min = 1,
                .max = 64,
                .maxlen = MBX_CONFIG_HOST_MAX,
                .flags = MBX_CONFIG_F_REQUIRED,
                .example = "fabrikam.com",
                .check = mbx_config_check_domain,
                .check_doc = "DNS domain names",
                .help = "The SMTP domains of that forest, separated by spaces. A mail user whose "
                        "targetAddress is in one of them moved there.",
        },
        {
                .section = "forest",
                .name = "autodiscover_url",
                .type = MBX_CONFIG_STRING,
                .offset = FOFF(autodiscover_url),
                .min = 1,
                .max = 1023,
                .flags = MBX_CONFIG_F_REQUIRED,
                .example = "https://autodiscover.fabrikam.com/autodiscover/autodiscover.xml",
                .check = mbx_config_check_url,
                .check_doc = "an https:// URL (http:// on loopback)",
                .help = "That forest's Autodiscover endpoint: a mailbox moved there gets a "
                        "redirectUrl to it.",
        },

        /* [log] */
        {
                .section = "log",
                .name = "target",
                .type = MBX_CONFIG_ENUM,
                .offset = OFF(log.target),
                .def = "syslog",
                .values = config_log_targets,
                .help = "Where log lines go.",
        },
        {
                .section = "log",
                .name = "facility",
                .type = MBX_CONFIG_ENUM,
                .offset = OFF(log.facility),
                .def = "daemon",
                .values = config_facilities,
                .help = "syslog facility, with target = syslog.",
        },
        {
                .section = "log",
                .name = "level",
                .type = MBX_CONFIG_ENUM,
                .offset = OFF(log.level),
                .def = "info",
                .values = config_levels,
                .help = "Lines of this level and more severe ones are written.",
        },
        {
                .section = "log",
                .name = "trace",
                .type = MBX_CONFIG_FLAGS,
                .offset = OFF(log.trace),
                .def = "",
                .values = config_traces,
                .help = "Trace categories on at start, separated by spaces; trace lines are "
                        "written "
                        "at level debug. mbxctl trace switches them at run time.",
        },
};

const size_t mbx_config_nkeys = sizeof(mbx_config_keys) / sizeof(mbx_config_keys[0]);

/* --- the sections -------------------------------------------------------------------------- */

static const char *const config_attributes_sample[] = {
        "#msExchMailboxGuid = x-msExchMailboxGuid",
        "#msExchMailboxMoveStatus = x-msExchMailboxMoveStatus",
        NULL,
};

static const char *const config_servers_sample[] = {
        "#SERVER1 = https://server1.contoso.com",
        "#SERVER2 = https://server2.contoso.com",
        NULL,
};

const struct mbx_config_section mbx_config_sections[] = {
        {"server", MBX_CONFIG_SECTION_KEYS,
         "Who this server is in the directory, and how the daemon runs.", NULL},
        {"listen", MBX_CONFIG_SECTION_KEYS,
         "Where the daemon accepts connections. An address is IPv4:port, [IPv6]:port or "
         "host:port; a host name is resolved when the daemon starts.",
         NULL},
        {"limits", MBX_CONFIG_SECTION_KEYS,
         "Bounds on what clients may ask for: every input the daemon takes has one.", NULL},
        {"directory", MBX_CONFIG_SECTION_KEYS,
         "The directory holding users, mailboxes, databases and servers, as Active Directory does "
         "for Exchange: the source of truth for where a mailbox is.",
         NULL},
        {"attributes", MBX_CONFIG_SECTION_ATTRIBUTES,
         "Attribute names for a directory that does not use Active Directory's: each line is "
         "canonical = name, where canonical is one of the names below and name is what the "
         "directory calls it (an LDAP attribute name or OID). Attributes not listed keep their "
         "canonical name.",
         config_attributes_sample},
        {"cache", MBX_CONFIG_SECTION_KEYS,
         "The mailbox table (what the directory said about each mailbox) and the users' tokens "
         "(their SIDs and groups), kept between logons. Changes the daemon sees (its own moves, "
         "LDAP Content Sync) drop entries at once.",
         NULL},
        {"servers", MBX_CONFIG_SECTION_SERVERS,
         "The mailbox servers of this forest, this one included: each line is NAME = base URL, "
         "with NAME the server's name (its [server] name) and the base URL https://host[:port]. "
         "Autodiscover hands out the MAPI/HTTP URLs of a mailbox's home server from it.",
         config_servers_sample},
        {"forest", MBX_CONFIG_SECTION_FOREST,
         "One section [forest.NAME] for each other forest that mailboxes move to (NAME: letters, "
         "digits, '.', '_' and '-'). A mailbox that moved there is answered ecUnknownUser at "
         "logon and redirected by Autodiscover.",
         NULL},
        {"log", MBX_CONFIG_SECTION_KEYS, "Logging (the events are listed in mbxstored(8)).", NULL},
};

const size_t mbx_config_nsections = sizeof(mbx_config_sections) / sizeof(mbx_config_sections[0]);

/* --- canonical attribute names ------------------------------------------------------------- */

/* Every attribute the directory backends and the store read or write (protocol.md 8.1, 8.2,
 * docs/directory.md "Attributes"), in that order. */
const char *const mbx_config_canonical_attrs[] = {
        "objectClass",
        "cn",
        "displayName",
        "mail",
        "proxyAddresses",
        "userPrincipalName",
        "sAMAccountName",
        "userPassword",
        "objectSid",
        "objectGUID",
        "userAccountControl",
        "member",
        "memberOf",
        "groupType",
        "legacyExchangeDN",
        "homeMDB",
        "homeMTA",
        "msExchHomeServerName",
        "msExchMasterAccountSid",
        "msExchUserAccountControl",
        "msExchMailboxGuid",
        "msExchRecipientTypeDetails",
        "msExchRecipientDisplayType",
        "msExchMailboxSecurityDescriptor",
        "msExchHideFromAddressLists",
        "mailNickname",
        "targetAddress",
        "msExchOwningServer",
        "networkAddress",
        "msExchMailboxMoveStatus",
        "msExchMailboxMoveFlags",
        "msExchMailboxMoveSourceMDBLink",
        "msExchMailboxMoveTargetMDBLink",
        "msExchMailboxMoveRemoteHostName",
        NULL,
};
