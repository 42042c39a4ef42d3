/* Reads from PostgreSQL read replicas (issue 13, src/db-replica.h).
 *
 * The read-only routes (GET /podcasts/, GET /podcasts/{id}) take their
 * connection from replica_db_read(): a replica that is fresh enough, unless
 * the user wrote something in the last DB_REPLICA_MAX_LAG + 2 seconds
 * (replica_note_write(), kept in Redis so every process and host sees it:
 * a user's own writes are always visible to them); else NULL, and the route
 * reads from the primary. A
 * route that finds nothing on a replica asks the primary again
 * (replica_is_replica()). */
#ifndef PP_FCGI_REPLICA_H
#define PP_FCGI_REPLICA_H

#include "app.h"

extern const struct app_module replica_app_module;

/* A replica's connection for a read (db_release() it), or NULL: read from
 * the primary. */
struct db_conn *replica_db_read(struct request *req);
/* TRUE when CONN came from a replica. */
gboolean replica_is_replica(struct request *req, struct db_conn *conn);
/* After the user's write committed: their reads go to the primary a while. */
void replica_note_write(struct request *req);

#endif
