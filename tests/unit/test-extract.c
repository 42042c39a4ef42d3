/* Document text extraction: real PDFs (tests/data, made by
 * tests/data/make-fixtures.py), text and Markdown, and each failure's message. */
#include "autoconfig.h"

#include <string.h>

#include <glib.h>

#include "extract.h"

static GBytes *
load(const char *name)
{
	char *path = g_build_filename(PP_TEST_DATA, name, NULL);
	char *data = NULL;
	gsize len = 0;

	g_assert_true(g_file_get_contents(path, &data, &len, NULL));
	g_free(path);
	return g_bytes_new_take(data, len);
}

static char *
extract_file(const char *name, int max, struct pipeline_error *err)
{
	GBytes *b = load(name);
	gsize len;
	const void *data = g_bytes_get_data(b, &len);
	char *text = extract_text(data, len, name, max, err);

	g_bytes_unref(b);
	return text;
}

static void
test_pdf_text(void)
{
	struct pipeline_error err = { 0 };
	char *text = extract_file("sample.pdf", 40000, &err);

	g_assert_nonnull(text);
	g_assert_null(err.message);
	g_assert_true(g_str_has_prefix(text, "Lighthouses and the Light They Keep\n\n"));
	g_assert_nonnull(strstr(text, "Augustin Fresnel"));
	/* Lines of one paragraph are joined, page breaks do not cut sentences. */
	g_assert_nonnull(strstr(text, "Open water rarely sank a well-built ship;"));
	g_assert_null(strstr(text, "  "));
	g_assert_null(strstr(text, "\n\n\n"));
	g_assert_cmpint(g_utf8_strlen(text, -1), >, 5000);
	g_free(text);
}

static void
test_pdf_truncated_at_sentence(void)
{
	struct pipeline_error err = { 0 };
	char *text = extract_file("sample.pdf", 1000, &err);
	gsize n;

	g_assert_nonnull(text);
	n = strlen(text);
	g_assert_cmpint(g_utf8_strlen(text, -1), <=, 1000);
	g_assert_cmpint(g_utf8_strlen(text, -1), >, 500);
	g_assert_true(text[n - 1] == '.' || text[n - 1] == '!' || text[n - 1] == '?');
	g_free(text);
}

static void
check_failure(const char *file, const char *message)
{
	struct pipeline_error err = { 0 };
	char *text = extract_file(file, 40000, &err);

	g_assert_null(text);
	g_assert_cmpstr(err.message, ==, message);
	g_assert_true(err.permanent);
	pipeline_error_clear(&err);
}

static void
test_failures(void)
{
	check_failure("encrypted.pdf", "The PDF is encrypted");
	check_failure("not-a-pdf.pdf", "The file is not a readable PDF");
	check_failure("empty.pdf", "The document contains no extractable text");
	check_failure("image.png", "Unsupported document type");
}

static void
test_plain_text(void)
{
	struct pipeline_error err = { 0 };
	const char *in = "\xef\xbb\xbfHello   world,\tthis is\r\n one paragraph.\n \n\n\nSecond  one. ";
	char *text = extract_text(in, strlen(in), "podcasts/u/notes.txt", 1000, &err);

	g_assert_cmpstr(text, ==, "Hello world, this is one paragraph.\n\nSecond one.");
	g_free(text);
	text = extract_text("  \n\n \t ", 7, "blank.txt", 1000, &err);
	g_assert_null(text);
	g_assert_cmpstr(err.message, ==, "The document contains no extractable text");
	pipeline_error_clear(&err);
	text = extract_text("", 0, "zero.pdf", 1000, &err);
	g_assert_null(text);
	g_assert_cmpstr(err.message, ==, "The document is empty");
	pipeline_error_clear(&err);
}

static void
test_markdown(void)
{
	struct pipeline_error err = { 0 };
	char *text = extract_file("notes.md", 40000, &err);

	g_assert_nonnull(text);
	g_assert_true(g_str_has_prefix(text, "Notes on Lighthouses\n\n"));
	g_assert_null(strstr(text, "#"));
	g_assert_null(strstr(text, "**"));
	g_assert_null(strstr(text, "]("));
	g_assert_nonnull(strstr(text, "Fresnel lenses gather light into a beam."));
	g_assert_nonnull(strstr(text, "See the keepers for more."));
	g_free(text);
}

static void
test_sniff(void)
{
	const char pdf[] = "%PDF-1.4\n...";
	const char bin[] = { 'a', 0, 'b', 1 };

	g_assert_cmpint(extract_sniff(pdf, sizeof pdf - 1, "x.txt"), ==, EXTRACT_PDF);
	g_assert_cmpint(extract_sniff("plain words", 11, NULL), ==, EXTRACT_TEXT);
	g_assert_cmpint(extract_sniff("plain words", 11, "a/b.MD"), ==, EXTRACT_MARKDOWN);
	g_assert_cmpint(extract_sniff("plain words", 11, "a/b.pdf"), ==, EXTRACT_PDF);
	g_assert_cmpint(extract_sniff("plain words", 11, "a/b.docx"), ==, EXTRACT_UNSUPPORTED);
	g_assert_cmpint(extract_sniff(bin, sizeof bin, "a.txt"), ==, EXTRACT_UNSUPPORTED);
	g_assert_cmpint(extract_sniff("\xff\xfe bad utf8", 11, "a.txt"), ==, EXTRACT_UNSUPPORTED);
}

static void
test_truncate(void)
{
	GString *long_text = g_string_new(NULL);
	char *cut;

	for (int i = 0; i < 100; i++)
		g_string_append_printf(long_text, "Sentence number %d is here. ", i);
	cut = extract_truncate(long_text->str, 200);
	g_assert_cmpint(strlen(cut), <=, 200);
	g_assert_true(g_str_has_suffix(cut, "is here."));
	g_free(cut);
	cut = extract_truncate("short", 200);
	g_assert_cmpstr(cut, ==, "short");
	g_free(cut);
	/* No sentence end in reach: the last space, never mid-word. */
	cut = extract_truncate("aaaa bbbb cccc dddd", 12);
	g_assert_cmpstr(cut, ==, "aaaa bbbb");
	g_free(cut);
	/* Multi-byte characters count as one. */
	cut = extract_truncate("\xc3\xa9\xc3\xa9\xc3\xa9. \xc3\xa9\xc3\xa9\xc3\xa9 \xc3\xa9", 6);
	g_assert_cmpstr(cut, ==, "\xc3\xa9\xc3\xa9\xc3\xa9.");
	g_free(cut);
	g_string_free(long_text, TRUE);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/extract/pdf", test_pdf_text);
	g_test_add_func("/extract/pdf-truncated", test_pdf_truncated_at_sentence);
	g_test_add_func("/extract/failures", test_failures);
	g_test_add_func("/extract/plain-text", test_plain_text);
	g_test_add_func("/extract/markdown", test_markdown);
	g_test_add_func("/extract/sniff", test_sniff);
	g_test_add_func("/extract/truncate", test_truncate);
	return g_test_run();
}
