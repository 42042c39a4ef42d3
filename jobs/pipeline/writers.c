/* The writer table (writer.h). A row's name is also a row of kind
 * PROVIDER_WRITER in src/providers.c, which holds the settings it needs. */
#include "autoconfig.h"

#include <string.h>

#include "providers.h"
#include "writer.h"

const struct writer writer_table[] = {
	{ .name = "gemini", .write = writer_gemini_write },
	{ .name = "openai", .write = writer_openai_write },
	{ .name = "builtin", .write = writer_builtin_write },
	{ .name = NULL }
};

const struct writer *
writer_find(const char *name)
{
	for (const struct writer *w = writer_table; name != NULL && w->name != NULL; w++) {
		if (strcmp(w->name, name) == 0)
			return w;
	}
	return NULL;
}

const struct writer *
writer_for(const struct config *cfg)
{
	const struct provider *p = provider_choose(cfg, PROVIDER_WRITER);

	return writer_find(p != NULL ? p->name : NULL);
}
