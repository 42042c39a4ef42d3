#include "autoconfig.h"

#include <string.h>

#include <poppler.h>

#include "extract-private.h"

/* The PDF specification lets "%PDF-" start anywhere in the first 1024 bytes. */
#define EXTRACT_PDF_SNIFF 1024

static char *
extract_extension(const char *name)
{
	const char *base, *dot;

	if (name == NULL)
		return NULL;
	base = strrchr(name, '/');
	base = base != NULL ? base + 1 : name;
	dot = strrchr(base, '.');
	if (dot == NULL || dot == base || dot[1] == '\0')
		return NULL;
	return g_ascii_strdown(dot + 1, -1);
}

static gboolean
extract_looks_like_text(const char *data, gsize len)
{
	if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0) {
		data += 3;
		len -= 3;
	}
	if (memchr(data, '\0', len) != NULL)
		return FALSE;
	return g_utf8_validate(data, (gssize)len, NULL);
}

static gboolean
extract_pdf_sniff(const char *data, gsize len)
{
	gsize window = MIN(len, (gsize)EXTRACT_PDF_SNIFF);

	return window >= 5 && g_strstr_len(data, (gssize)window, "%PDF-") != NULL;
}

static char *extract_pdf(const struct extract_input *in, struct pipeline_error *err);
static char *extract_plain(const struct extract_input *in, struct pipeline_error *err);
static char *extract_markdown(const struct extract_input *in, struct pipeline_error *err);

/* What the extension names is believed only of bytes that could be it. */
enum extract_hint { HINT_ANY, HINT_NO_NUL, HINT_UTF8 };

/* One row per format. Content sniffers are asked in this order; then the
 * extension decides. */
static const struct extract_format {
	enum extract_kind kind;
	const char *const *extensions;
	enum extract_hint hint;
	gboolean (*sniff)(const char *data, gsize len);
	char *(*extract)(const struct extract_input *in, struct pipeline_error *err);
} extract_formats[] = {
	{ EXTRACT_PDF, (const char *const[]){ "pdf", NULL }, HINT_ANY, extract_pdf_sniff, extract_pdf },
	{ EXTRACT_EPUB, (const char *const[]){ "epub", NULL }, HINT_ANY, extract_epub_sniff, extract_epub },
	{ EXTRACT_DOCX, (const char *const[]){ "docx", NULL }, HINT_ANY, extract_docx_sniff, extract_docx },
	{ EXTRACT_HTML, (const char *const[]){ "html", "htm", "xhtml", NULL }, HINT_NO_NUL, extract_html_sniff,
	    extract_html },
	{ EXTRACT_MARKDOWN, (const char *const[]){ "md", "markdown", NULL }, HINT_UTF8, NULL, extract_markdown },
	{ EXTRACT_TEXT, (const char *const[]){ "txt", "text", NULL }, HINT_UTF8, NULL, extract_plain },
};

static gboolean
extract_hint_fits(enum extract_hint hint, const char *data, gsize len)
{
	switch (hint) {
	case HINT_NO_NUL:
		return memchr(data, '\0', MIN(len, (gsize)EXTRACT_PDF_SNIFF)) == NULL;
	case HINT_UTF8:
		return extract_looks_like_text(data, len);
	case HINT_ANY:
	default:
		return TRUE;
	}
}

/* The format of DATA, or NULL when unsupported. */
static const struct extract_format *
extract_format_of(const char *data, gsize len, const char *name)
{
	const struct extract_format *found = NULL;
	gboolean named = FALSE;
	char *ext;

	for (gsize i = 0; i < G_N_ELEMENTS(extract_formats); i++)
		if (extract_formats[i].sniff != NULL && extract_formats[i].sniff(data, len))
			return &extract_formats[i];
	ext = extract_extension(name);
	for (gsize i = 0; ext != NULL && !named && i < G_N_ELEMENTS(extract_formats); i++) {
		for (const char *const *e = extract_formats[i].extensions; *e != NULL && !named; e++)
			named = strcmp(*e, ext) == 0;
		if (named && extract_hint_fits(extract_formats[i].hint, data, len))
			found = &extract_formats[i];
	}
	/* Without an extension, text is text. */
	for (gsize i = 0; ext == NULL && i < G_N_ELEMENTS(extract_formats); i++)
		if (extract_formats[i].kind == EXTRACT_TEXT && extract_looks_like_text(data, len))
			found = &extract_formats[i];
	g_free(ext);
	return found;
}

enum extract_kind
extract_sniff(const void *data, gsize len, const char *name)
{
	const struct extract_format *f = extract_format_of(data, len, name);

	return f != NULL ? f->kind : EXTRACT_UNSUPPORTED;
}

char *
extract_normalise(const char *text)
{
	GString *out = g_string_new(NULL);
	char *valid = g_utf8_make_valid(text, -1);
	char **paras = g_regex_split_simple("\\n[ \\t\\r\\f\\v]*\\n", valid, 0, 0);

	for (char **p = paras; *p != NULL; p++) {
		gboolean space = FALSE;
		gsize start;

		if (out->len > 0)
			g_string_append(out, "\n\n");
		start = out->len;
		for (const char *s = *p; *s != '\0'; s = g_utf8_next_char(s)) {
			gunichar c = g_utf8_get_char(s);

			if (g_unichar_isspace(c) || g_unichar_iscntrl(c) || c == 0xad) {
				space = TRUE;
				continue;
			}
			if (space && out->len > start)
				g_string_append_c(out, ' ');
			space = FALSE;
			g_string_append_unichar(out, c);
		}
		if (out->len == start)   /* an empty paragraph: drop its separator */
			g_string_truncate(out, start >= 2 ? start - 2 : 0);
	}
	g_strfreev(paras);
	g_free(valid);
	return g_string_free(out, FALSE);
}

char *
extract_truncate(const char *text, int max_chars)
{
	const char *cut, *best = NULL;
	glong chars = g_utf8_strlen(text, -1);

	if (max_chars <= 0 || chars <= max_chars)
		return g_strdup(text);
	cut = g_utf8_offset_to_pointer(text, max_chars);
	for (const char *s = cut - 1; s > text + (cut - text) / 2; s--) {
		if ((*s == '.' || *s == '!' || *s == '?') &&
		    (s + 1 == cut || s[1] == ' ' || s[1] == '\n')) {
			best = s + 1;
			break;
		}
	}
	if (best == NULL) {
		for (const char *s = cut; s > text; s--) {
			if (*s == ' ' || *s == '\n') {
				best = s;
				break;
			}
		}
	}
	if (best == NULL)
		best = cut;
	return g_strchomp(g_strndup(text, (gsize)(best - text)));
}

/* Inline markup: images and links keep their text, emphasis and code marks go. */
static char *
extract_markdown_inline(const char *line)
{
	static GRegex *image, *link, *marks;
	char *a, *b, *c;

	if (g_once_init_enter(&marks)) {
		image = g_regex_new("!\\[([^\\]]*)\\]\\([^)]*\\)", G_REGEX_OPTIMIZE, 0, NULL);
		link = g_regex_new("\\[([^\\]]*)\\]\\([^)]*\\)", G_REGEX_OPTIMIZE, 0, NULL);
		g_once_init_leave(&marks, g_regex_new("(\\*\\*|__|`|(?<![\\w])[*_]|[*_](?![\\w]))",
		    G_REGEX_OPTIMIZE, 0, NULL));
	}
	a = g_regex_replace(image, line, -1, 0, "\\1", 0, NULL);
	b = g_regex_replace(link, a, -1, 0, "\\1", 0, NULL);
	c = g_regex_replace_literal(marks, b, -1, 0, "", 0, NULL);
	g_free(a);
	g_free(b);
	return c;
}

char *
extract_markdown_to_text(const char *md)
{
	GString *out = g_string_new(NULL);
	char **lines = g_strsplit(md, "\n", -1);
	gboolean fence = FALSE;

	for (char **l = lines; *l != NULL; l++) {
		char *line = g_strstrip(g_strdup(*l));
		const char *s = line;
		gboolean heading = FALSE;
		char *plain;

		if (g_str_has_prefix(s, "```") || g_str_has_prefix(s, "~~~")) {
			fence = !fence;
			g_string_append(out, "\n\n");
			g_free(line);
			continue;
		}
		if (fence || g_regex_match_simple("^([-*_] ?){3,}$", s, 0, 0) ||
		    (g_regex_match_simple("^\\|?[-:| ]+\\|?$", s, 0, 0) && strchr(s, '-') != NULL)) {
			g_free(line);
			continue;   /* code, rules and table rules are not prose */
		}
		if (*s == '#') {
			while (*s == '#')
				s++;
			heading = TRUE;
		}
		while (*s == '>' || *s == ' ')
			s++;
		if ((s[0] == '-' || s[0] == '*' || s[0] == '+') && s[1] == ' ')
			s += 2;
		else if (g_ascii_isdigit(*s)) {
			const char *d = s;

			while (g_ascii_isdigit(*d))
				d++;
			if ((*d == '.' || *d == ')') && d[1] == ' ')
				s = d + 2;
		}
		plain = extract_markdown_inline(s);
		if (heading || (*l)[0] == '-' || (*l)[0] == '*' || (*l)[0] == '+')
			g_string_append(out, "\n\n");
		g_string_append(out, plain);
		/* A heading or list item is its own paragraph; other lines join. */
		g_string_append(out, heading || s != line ? "\n\n" : "\n");
		g_free(plain);
		g_free(line);
	}
	g_strfreev(lines);
	return g_string_free(out, FALSE);
}

/* One page's lines become paragraphs. PDF text has no paragraph marks, so
 * a line ends one when it is clearly shorter than the page's full lines and
 * either closes a sentence or, unpunctuated, is followed by a capital (a
 * heading). A word hyphenated across lines is joined again. */
static void
extract_append_page(GString *out, const char *page)
{
	char **lines = g_strsplit(page, "\n", -1);
	glong longest = 0;

	for (char **l = lines; *l != NULL; l++) {
		g_strstrip(*l);
		longest = MAX(longest, g_utf8_strlen(*l, -1));
	}
	for (char **l = lines; *l != NULL; l++) {
		const char *line = *l, *next = l[1];
		gsize n = strlen(line);
		gboolean short_line = g_utf8_strlen(line, -1) < longest * 3 / 4;
		gboolean next_upper = next != NULL && g_unichar_isupper(g_utf8_get_char(next));
		char last = n > 0 ? line[n - 1] : '\0';

		if (n == 0) {
			g_string_append(out, "\n\n");
		} else if (n >= 2 && last == '-' && g_ascii_isalpha(line[n - 2]) &&
		    next != NULL && g_ascii_islower(*next)) {
			g_string_append_len(out, line, (gssize)n - 1);
		} else {
			g_string_append(out, line);
			if (short_line && (strchr(".!?:\"", last) != NULL || next_upper))
				g_string_append(out, "\n\n");
			else
				g_string_append_c(out, ' ');
		}
	}
	g_string_append(out, "\n\n");
	g_strfreev(lines);
}

static char *
extract_pdf(const struct extract_input *in, struct pipeline_error *err)
{
	GBytes *bytes = g_bytes_new(in->data, in->len);
	GError *gerr = NULL;
	PopplerDocument *doc = poppler_document_new_from_bytes(bytes, NULL, &gerr);
	GString *out;
	int pages;

	g_bytes_unref(bytes);
	if (doc == NULL) {
		if (gerr != NULL && g_error_matches(gerr, POPPLER_ERROR, POPPLER_ERROR_ENCRYPTED))
			pipeline_error_set(err, TRUE, "The PDF is encrypted");
		else
			pipeline_error_set(err, TRUE, "The file is not a readable PDF");
		g_clear_error(&gerr);
		return NULL;
	}
	out = g_string_new(NULL);
	pages = poppler_document_get_n_pages(doc);
	for (int i = 0; i < pages; i++) {
		PopplerPage *page = poppler_document_get_page(doc, i);
		char *text;

		if (page == NULL)
			continue;
		text = poppler_page_get_text(page);
		if (text != NULL)
			extract_append_page(out, text);
		g_free(text);
		g_object_unref(page);
	}
	g_object_unref(doc);
	return g_string_free(out, FALSE);
}

static char *
extract_plain(const struct extract_input *in, struct pipeline_error *err)
{
	if (in->len >= 3 && memcmp(in->data, "\xef\xbb\xbf", 3) == 0)
		return g_strndup(in->data + 3, in->len - 3);
	return g_strndup(in->data, in->len);
}

static char *
extract_markdown(const struct extract_input *in, struct pipeline_error *err)
{
	char *raw = extract_plain(in, err);
	char *text = extract_markdown_to_text(raw);

	g_free(raw);
	return text;
}

char *
extract_text(const void *data, gsize len, const char *name, int max_chars,
    struct pipeline_error *err)
{
	const struct extract_format *format;
	struct extract_input in = { data, len, G_MAXSIZE, EXTRACT_UNPACK_LIMIT(max_chars > 0 ? max_chars : 10000000) };
	char *raw, *norm, *result = NULL;

	if (len == 0) {
		pipeline_error_set(err, TRUE, "The document is empty");
		return NULL;
	}
	if ((format = extract_format_of(data, len, name)) == NULL) {
		pipeline_error_set(err, TRUE, "Unsupported document type");
		return NULL;
	}
	/* Enough text to cut MAX_CHARS from (at a sentence end, after
	 * whitespace is collapsed): reading more would change nothing. */
	if (max_chars > 0)
		in.enough = (gsize)max_chars + 64;
	if ((raw = format->extract(&in, err)) == NULL)
		return NULL;
	norm = extract_normalise(raw);
	g_free(raw);
	if (*norm == '\0') {
		pipeline_error_set(err, TRUE, "The document contains no extractable text");
		goto out;
	}
	result = extract_truncate(norm, max_chars);
out:
	g_free(norm);
	return result;
}
