/* GET /elevenlabs/credits: the ElevenLabs subscription's characters. */
#include "autoconfig.h"

#include "credits.h"
#include "log.h"
#include "route.h"

static void
credits_get(struct request *req)
{
	struct credits_info info;
	char *cause = NULL;

	if (credits_fetch(req->app->cfg, &info, &cause) != 0) {
		log_warn("%s credits: %s", req->request_id, cause);
		g_free(cause);
		response_error(req, 503, "Unable to fetch ElevenLabs credits. Please try again later.");
		return;
	}
	response_json(req, 200, credits_json(&info));
}

const struct route credits_routes[] = {
	{ .method = "GET", .pattern = "/elevenlabs/credits", .handler = credits_get, .limit = "get_credits" },
	{ .method = NULL }
};
