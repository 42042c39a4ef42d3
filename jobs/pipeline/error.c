#include "autoconfig.h"

#include <stdarg.h>

#include "error.h"

void
pipeline_error_set(struct pipeline_error *err, gboolean permanent, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return;
	g_free(err->message);
	va_start(ap, fmt);
	err->message = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	err->permanent = permanent;
}

void
pipeline_error_clear(struct pipeline_error *err)
{
	if (err == NULL)
		return;
	g_clear_pointer(&err->message, g_free);
	err->permanent = FALSE;
	err->retry_after = 0;
}
