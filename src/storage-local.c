/* Local storage: objects are files under STORAGE_DIR, written atomically. */
#include "autoconfig.h"

#include <dirent.h>
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

/* Sweeping abandoned temporaries (storage_local_sweep_temp). A temporary is
 * what storage_local_temp() creates: ".tmp-" and g_mkstemp's six letters or
 * digits. Keys are a few segments deep; nothing of ours goes deeper than
 * this, and the bound keeps the open directories few. */
#define STORAGE_SWEEP_MAX_DEPTH 16

struct storage_sweep_walk {
	struct storage_sweep *sw;
	time_t cutoff;             /* mtime at or before this: abandoned */
	guint entries;             /* examined so far */
	char *cause;               /* the first failure, or NULL */
};

static gboolean
storage_local_temp_name(const char *name)
{
	if (strncmp(name, ".tmp-", 5) != 0)
		return FALSE;
	for (int i = 5; i < 11; i++) {
		if (!g_ascii_isalnum(name[i]))
			return FALSE;
	}
	return name[11] == '\0';
}

static void
storage_local_sweep_failed(struct storage_sweep_walk *w, const char *rel, const char *name, int err)
{
	if (w->cause == NULL)
		w->cause = g_strdup_printf("%s/%s: %s", rel, name, g_strerror(err));
}

/* Walks the directory open at DIRFD (closed here), REL below STORAGE_DIR.
 * Nothing is opened or removed through a symbolic link: directories are
 * entered with O_NOFOLLOW, files are judged by fstatat(AT_SYMLINK_NOFOLLOW)
 * and unlinkat() removes a name, never what a link points to. FALSE when a
 * bound stopped the walk. */
static gboolean
storage_local_sweep_dir(struct storage_sweep_walk *w, int dirfd, const char *rel, int depth)
{
	struct storage_sweep *sw = w->sw;
	DIR *d = fdopendir(dirfd);
	struct dirent *de;
	gboolean more = TRUE;

	if (d == NULL) {
		storage_local_sweep_failed(w, rel, "", errno);
		close(dirfd);
		return TRUE;
	}
	while (more && (de = readdir(d)) != NULL) {
		const char *name = de->d_name;
		gboolean temp = storage_local_temp_name(name);
		struct stat sb;

		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;
		if (w->entries >= sw->max_entries) {
			more = FALSE;
			break;
		}
		w->entries++;
		if (!temp && de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
			continue;      /* an object, a link, ...: nothing to do, no stat */
		if (fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
			if (errno != ENOENT)
				storage_local_sweep_failed(w, rel, name, errno);
			continue;
		}
		if (S_ISDIR(sb.st_mode) && depth < STORAGE_SWEEP_MAX_DEPTH) {
			int sub = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			char *sub_rel;

			if (sub < 0) {
				/* ELOOP / ENOTDIR: replaced by a link since the stat. */
				if (errno != ENOENT && errno != ELOOP && errno != ENOTDIR)
					storage_local_sweep_failed(w, rel, name, errno);
				continue;
			}
			sub_rel = g_build_filename(rel, name, NULL);
			more = storage_local_sweep_dir(w, sub, sub_rel, depth + 1);
			g_free(sub_rel);
			continue;
		}
		if (!temp || !S_ISREG(sb.st_mode) || sb.st_mtime > w->cutoff)
			continue;
		if (sw->removed >= sw->max_removals) {
			more = FALSE;
			break;
		}
		if (unlinkat(dirfd, name, 0) == 0)
			sw->removed++;
		else if (errno != ENOENT)
			storage_local_sweep_failed(w, rel, name, errno);
	}
	closedir(d);
	return more;
}

int
storage_local_sweep_temp(const struct storage *st, struct storage_sweep *sw, time_t now,
    char **cause)
{
	struct storage_sweep_walk w = { sw, now - sw->min_age_s, 0, NULL };
	int fd;

	sw->removed = 0;
	sw->truncated = FALSE;
	if (!st->local)
		return 0;
	if ((fd = open(st->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		*cause = g_strdup_printf("%s: %s", st->dir, g_strerror(errno));
		return -1;
	}
	sw->truncated = !storage_local_sweep_dir(&w, fd, st->dir, 0);
	if (w.cause != NULL) {
		*cause = w.cause;
		return -1;
	}
	return 0;
}
