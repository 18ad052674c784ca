/*
 * mh-autodiscover.c: the front end's side of Autodiscover POX ([MS-OXDSCLI] 2.1 transport,
 * 2.2.2.1 X-MapiHttpCapability; protocol.md 7.1): POST /autodiscover/autodiscover.xml, once
 * mh-server.c has checked the method, the body size and HTTP Basic authentication, is handed
 * to the Autodiscover service (include/mbx/autodiscover.h) with the body, the principal and
 * the X-MapiHttpCapability header; its XML comes back as a plain HTTP answer (text/xml, no
 * MAPI/HTTP envelope). A client that goes away meanwhile: mh-request.c calls r->adcancel.
 */
#include "mapihttp/mh-frontend-int.h"

#include <stdlib.h>
#include <string.h>


#include "mbx/autodiscover.h"
#include "mbx/httpd.h"
#include "mbx/log.h"

#define MH_AD_CONTENT_TYPE "text/xml; charset=utf-8"
#define MH_AD_CAPABILITY_MAX 1000u /* a larger number is still "at least 1" */

/* X-MapiHttpCapability: a decimal number 1.. (OXDSCLI 2.2.2.1); anything else counts as
 * absent (0). Values above MH_AD_CAPABILITY_MAX are clamped to it. */
static unsigned mh_ad_capability(const struct mbx_http_req *http)
{
	const char *v = NULL;
	unsigned n = 0;
	size_t i = 0;

	if (http != NULL)
		v = mbx_http_req_header(http, "X-MapiHttpCapability");
	if (v == NULL)
		return 0;
	while (v[i] == ' ' || v[i] == '\t')
		i++;
	if (v[i] < '0' || v[i] > '9')
		return 0;
	for (; v[i] >= '0' && v[i] <= '9'; i++)
		if (n <= MH_AD_CAPABILITY_MAX)
			n = n * 10 + (unsigned)(v[i] - '0');
	while (v[i] == ' ' || v[i] == '\t')
		i++;
	if (v[i] != '\0')
		return 0;
	return n > MH_AD_CAPABILITY_MAX ? MH_AD_CAPABILITY_MAX : n;
}

static void mh_ad_done(void *ctx, int http_status, const char *xml, size_t len)
{
	struct mh_req *r = ctx;

	r->adreq = NULL; /* the service is done with it: nothing to cancel */
	if (http_status == 200)
		mbx_mh_request_reply_plain(r, 200, MH_AD_CONTENT_TYPE, xml, len);
	else
		mbx_mh_request_reply_plain(r, http_status, "text/plain; charset=utf-8",
		                           "Autodiscover failed\r\n", 21);
}

static void mh_ad_cancel(struct mbx_ad_req *adreq)
{
	mbx_autodiscover_cancel(adreq);
}

void mbx_mh_autodiscover(struct mh_req *r)
{
	struct mbx_ad_http_request in;
	struct mbx_ad_req *adreq;

	r->autodiscover = true;
	if (r->fe->deps.autodiscover == NULL) {
		mbx_mh_request_reply_plain(r, 404, "text/plain; charset=utf-8", "Not Found\r\n",
		                           11);
		return;
	}
	memset(&in, 0, sizeof(in));
	in.body = (const char *)r->body;
	in.len = r->body_len;
	in.principal_dn = r->who != NULL ? r->who->dn : NULL;
	in.principal_name = r->who != NULL ? r->who->name : NULL;
	in.mapihttp_capability = mh_ad_capability(r->http);
	in.peer = r->peer;
	adreq = mbx_autodiscover_serve(r->fe->deps.autodiscover, &in, mh_ad_done, r);
	if (adreq == NULL) {
		mbx_log(MBX_LOG_ERROR,
		        "mapihttp: autodiscover from %s: the request could not be "
		        "started (out of memory)",
		        r->peer);
		mbx_mh_request_reply_plain(r, 500, "text/plain; charset=utf-8",
		                           "Internal Server Error\r\n", 23);
		return;
	}
	r->adreq = adreq;
	r->adcancel = mh_ad_cancel;
}
