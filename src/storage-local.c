/* Local storage: objects are files under STORAGE_DIR, written atomically. */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "storage-private.h"

/* Disk full or I/O trouble may pass; a permission or path problem will not. */
static enum storage_result
storage_local_errno(int err)
{
	switch (err) {
	case ENOSPC:
	case EIO:
	case EAGAIN:
	case EINTR:
	case EMFILE:
	case ENFILE:
	case ENOMEM:
	case EDQUOT:
		return STORAGE_RETRY;
	default:
		return STORAGE_FAIL;
	}
}

char *
storage_local_stream_sig(const struct storage *st, const char *key, const char *expires)
{
	char *msg = g_strdup_printf("GET\n%s\n%s", key, expires);
	char *sig = g_compute_hmac_for_string(G_CHECKSUM_SHA256, (const guchar *)st->local_secret,
	    strlen(st->local_secret), msg, -1);

	g_free(msg);
	return sig;
}

int
storage_local_temp(const struct storage *st, const char *key, char **tmp_path, char **cause)
{
	char *path = storage_local_path(st, key), *dir = NULL, *tmpl = NULL;
	int fd = -1;

	*tmp_path = NULL;
	if (path == NULL) {
		*cause = g_strdup_printf("invalid storage key \"%s\"", key);
		return -1;
	}
	dir = g_path_get_dirname(path);
	if (g_mkdir_with_parents(dir, 0755) != 0) {
		*cause = g_strdup_printf("%s: %s", dir, g_strerror(errno));
		goto out;
	}
	/* Same directory as the key, so the rename is atomic; a leading dot
	 * keeps it out of the key space (storage_key_valid). */
	tmpl = g_build_filename(dir, ".tmp-XXXXXX", NULL);
	if ((fd = g_mkstemp_full(tmpl, O_WRONLY | O_CLOEXEC, 0644)) < 0) {
		*cause = g_strdup_printf("%s: %s", dir, g_strerror(errno));
		goto out;
	}
	/* The web server (another user) reads these files for X-Accel-Redirect. */
	if (fchmod(fd, 0644) != 0) {
		*cause = g_strdup_printf("%s: %s", tmpl, g_strerror(errno));
		close(fd);
		unlink(tmpl);
		fd = -1;
		goto out;
	}
	*tmp_path = tmpl;
	tmpl = NULL;
out:
	g_free(tmpl);
	g_free(dir);
	g_free(path);
	return fd;
}

static void
storage_local_sync_dir(const char *path)
{
	char *dir = g_path_get_dirname(path);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	/* Makes the rename itself durable; failing to is not an error of the put. */
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
	g_free(dir);
}

enum storage_result
storage_local_commit(const struct storage *st, const char *tmp_path, const char *key, char **cause)
{
	char *path = storage_local_path(st, key);
	enum storage_result rc = STORAGE_FAIL;
	int fd, err;

	if (path == NULL) {
		*cause = g_strdup_printf("invalid storage key \"%s\"", key);
		goto fail;
	}
	if ((fd = open(tmp_path, O_RDONLY | O_CLOEXEC)) < 0 || fsync(fd) != 0) {
		err = errno;
		if (fd >= 0)
			close(fd);
		*cause = g_strdup_printf("%s: %s", tmp_path, g_strerror(err));
		rc = storage_local_errno(err);
		goto fail;
	}
	close(fd);
	if (rename(tmp_path, path) != 0) {
		err = errno;
		*cause = g_strdup_printf("rename to %s: %s", path, g_strerror(err));
		rc = storage_local_errno(err);
		goto fail;
	}
	storage_local_sync_dir(path);
	g_free(path);
	return STORAGE_OK;
fail:
	unlink(tmp_path);
	g_free(path);
	return rc;
}

static int
storage_local_write_all(int fd, const guint8 *data, gsize len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		data += n;
		len -= (gsize)n;
	}
	return 0;
}

enum storage_result
storage_local_put(struct storage *st, const char *key, const void *data, gsize len, char **cause)
{
	char *tmp = NULL;
	int fd, err;

	if ((fd = storage_local_temp(st, key, &tmp, cause)) < 0)
		return STORAGE_RETRY;
	if (storage_local_write_all(fd, data, len) != 0) {
		err = errno;
		*cause = g_strdup_printf("%s: %s", tmp, g_strerror(err));
		close(fd);
		unlink(tmp);
		g_free(tmp);
		return storage_local_errno(err);
	}
	close(fd);
	{
		enum storage_result rc = storage_local_commit(st, tmp, key, cause);

		g_free(tmp);
		return rc;
	}
}

enum storage_result
storage_local_put_file(struct storage *st, const char *key, const char *path, char **cause)
{
	enum storage_result rc = STORAGE_FAIL;
	char *tmp = NULL;
	guint8 buf[65536];
	int in, out = -1, err = 0;
	ssize_t n;

	if ((in = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		*cause = g_strdup_printf("%s: %s", path, g_strerror(errno));
		return STORAGE_FAIL;
	}
	if ((out = storage_local_temp(st, key, &tmp, cause)) < 0) {
		close(in);
		return STORAGE_RETRY;
	}
	while ((n = read(in, buf, sizeof buf)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || storage_local_write_all(out, buf, (gsize)n) != 0) {
			err = errno;
			break;
		}
	}
	close(in);
	close(out);
	if (err != 0) {
		*cause = g_strdup_printf("copying %s: %s", path, g_strerror(err));
		unlink(tmp);
		rc = storage_local_errno(err);
	} else {
		rc = storage_local_commit(st, tmp, key, cause);
	}
	g_free(tmp);
	return rc;
}

enum storage_result
storage_local_get(struct storage *st, const char *key, gsize max_size, GBytes **out, char **cause)
{
	char *path = storage_local_path(st, key);
	enum storage_result rc = STORAGE_FAIL;
	guint8 *buf = NULL;
	struct stat sb;
	gsize got = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		if (errno == ENOENT || errno == ENOTDIR) {
			rc = STORAGE_NOT_FOUND;
		} else {
			int err = errno;

			*cause = g_strdup_printf("%s: %s", path, g_strerror(err));
			rc = storage_local_errno(err);
		}
		goto out;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		*cause = g_strdup_printf("%s: not a regular file", path);
		goto out;
	}
	if (max_size > 0 && (guint64)sb.st_size > max_size) {
		*cause = g_strdup_printf("%s: %lld bytes, more than the %zu allowed", key,
		    (long long)sb.st_size, (size_t)max_size);
		goto out;
	}
	buf = g_malloc((gsize)sb.st_size + 1);
	while (got < (gsize)sb.st_size) {
		ssize_t n = read(fd, buf + got, (gsize)sb.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			*cause = g_strdup_printf("%s: %s", path, n < 0 ? g_strerror(errno) : "short read");
			rc = STORAGE_RETRY;
			goto out;
		}
		got += (gsize)n;
	}
	*out = g_bytes_new_take(buf, got);
	buf = NULL;
	rc = STORAGE_OK;
out:
	if (fd >= 0)
		close(fd);
	g_free(buf);
	g_free(path);
	return rc;
}

enum storage_result
storage_local_exists(struct storage *st, const char *key, gint64 *size, char **cause)
{
	char *path = storage_local_path(st, key);
	enum storage_result rc = STORAGE_OK;
	struct stat sb;

	if (lstat(path, &sb) != 0) {
		if (errno == ENOENT || errno == ENOTDIR) {
			rc = STORAGE_NOT_FOUND;
		} else {
			int err = errno;

			*cause = g_strdup_printf("%s: %s", path, g_strerror(err));
			rc = storage_local_errno(err);
		}
	} else if (!S_ISREG(sb.st_mode)) {
		rc = STORAGE_NOT_FOUND;
	} else if (size != NULL) {
		*size = (gint64)sb.st_size;
	}
	g_free(path);
	return rc;
}

enum storage_result
storage_local_delete(struct storage *st, const char *key, char **cause)
{
	char *path = storage_local_path(st, key);
	enum storage_result rc = STORAGE_OK;

	if (unlink(path) != 0 && errno != ENOENT && errno != ENOTDIR) {
		int err = errno;

		*cause = g_strdup_printf("%s: %s", path, g_strerror(err));
		rc = storage_local_errno(err);
	}
	g_free(path);
	return rc;
}
