#include "autoconfig.h"

#include <hiredis/hiredis.h>

#include "config.h"
#include "db-replica.h"
#include "log.h"
#include "auth.h"
#include "replica.h"

/* Set for a user whose reads must see the primary. */
#define REPLICA_FRESH_KEY "pp:fresh:%s"

static int
replica_init(struct app *app, char **cause)
{
	(void)cause;
	app->replicas = db_replicas_new_from_config(app->cfg);
	return 0;
}

static void
replica_fini(struct app *app)
{
	g_clear_pointer(&app->replicas, db_replicas_free);
}

const struct app_module replica_app_module = {
	.name = "replicas",
	.init = replica_init,
	.fini = replica_fini,
};

/* TRUE when the user wrote recently, or when that cannot be known. */
static gboolean
replica_user_fresh(struct request *req)
{
	redisContext *c;
	redisReply *reply;
	char *cause = NULL;
	gboolean fresh = TRUE;

	if ((c = request_redis(req, &cause)) == NULL) {
		g_free(cause);
		return TRUE;
	}
	reply = redisCommand(c, "EXISTS " REPLICA_FRESH_KEY, req->user->id);
	if (reply == NULL)
		request_redis_reset(req);
	else if (reply->type == REDIS_REPLY_INTEGER)
		fresh = reply->integer != 0;
	freeReplyObject(reply);
	return fresh;
}

struct db_conn *
replica_db_read(struct request *req)
{
	if (req->app->replicas == NULL || req->user == NULL || replica_user_fresh(req))
		return NULL;
	return db_replicas_acquire(req->app->replicas);
}

gboolean
replica_is_replica(struct request *req, struct db_conn *conn)
{
	return conn != NULL && conn->pool != req->app->db;
}

void
replica_note_write(struct request *req)
{
	redisContext *c;
	redisReply *reply;
	char *cause = NULL;

	if (req->app->replicas == NULL || req->user == NULL)
		return;
	if ((c = request_redis(req, &cause)) == NULL) {
		/* Its reads may miss the write on a replica for up to the lag
		 * bound; a miss of one podcast is still asked of the primary. */
		log_warn("%s replicas: cannot note the write: %s", req->request_id, cause);
		g_free(cause);
		return;
	}
	reply = redisCommand(c, "SET " REPLICA_FRESH_KEY " 1 PX %d", req->user->id,
	    (req->app->cfg->db_replica_max_lag + 2) * 1000);
	if (reply == NULL)
		request_redis_reset(req);
	freeReplyObject(reply);
}
