/* Document text extraction: real PDFs, HTML, EPUB and DOCX (tests/data, made
 * by tests/data/make-fixtures.py, the EPUB and DOCX by pandoc), text and
 * Markdown, damaged documents and a ZIP bomb, and each failure's message. */
#include "autoconfig.h"

#include <string.h>
#include <sys/resource.h>

#include <glib.h>

#include "extract.h"

/* A string literal and its length, without the NUL. */
#define LITERAL(s) s, sizeof s - 1

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
	check_failure("no-text.html", "The document contains no extractable text");
	check_failure("truncated.docx", "The document is corrupt: the ZIP archive is truncated or damaged");
	check_failure("truncated.epub", "The document is corrupt: the ZIP archive is truncated or damaged");
	check_failure("no-document.docx", "The file is not a valid DOCX (word/document.xml missing)");
	check_failure("missing-chapters.epub", "The EPUB has no readable chapters: its spine lists 4 documents "
	    "missing from the archive, the first EPUB/text/title_page.xhtml");
}

/* The same bytes under another name: what the content says wins. */
static void
check_renamed_failure(const char *file, const char *as, const char *message)
{
	GBytes *b = load(file);
	gsize len;
	const char *data = g_bytes_get_data(b, &len);
	struct pipeline_error err = { 0 };
	char *text = extract_text(data, len, as, 40000, &err);

	g_assert_null(text);
	g_assert_cmpstr(err.message, ==, message);
	g_assert_true(err.permanent);
	pipeline_error_clear(&err);
	g_bytes_unref(b);
}

static void
test_zip_failures(void)
{
	/* Named as one, not a ZIP at all. */
	check_renamed_failure("notes.md", "podcasts/u/x.docx", "The file is not a valid DOCX (not a ZIP archive)");
	check_renamed_failure("image.png", "book.epub", "The file is not a valid EPUB (not a ZIP archive)");
	/* A ZIP of neither kind, named neither. */
	check_renamed_failure("no-document.docx", "archive.zip", "Unsupported document type");
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
	g_assert_cmpint(extract_sniff("plain words", 11, "a/b.docx"), ==, EXTRACT_DOCX);   /* says so */
	g_assert_cmpint(extract_sniff("plain words", 11, "a/b.odt"), ==, EXTRACT_UNSUPPORTED);
	g_assert_cmpint(extract_sniff(LITERAL("<!DOCTYPE html><p>x"), "a.txt"), ==, EXTRACT_HTML);
	g_assert_cmpint(extract_sniff(LITERAL(" \n<HTML><p>x"), NULL), ==, EXTRACT_HTML);
	g_assert_cmpint(extract_sniff(LITERAL("<?xml version='1.0'?>\n<html>"), NULL), ==, EXTRACT_HTML);
	g_assert_cmpint(extract_sniff(LITERAL("<p>a fragment</p>"), "a/b.HTM"), ==, EXTRACT_HTML);
	g_assert_cmpint(extract_sniff(LITERAL("<p>caf\xe9</p>"), "a/b.xhtml"), ==, EXTRACT_HTML);   /* any charset */
	g_assert_cmpint(extract_sniff(bin, sizeof bin, "a.html"), ==, EXTRACT_UNSUPPORTED);
	g_assert_cmpint(extract_sniff(LITERAL("<p>a</p>"), "a.md"), ==, EXTRACT_MARKDOWN);
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

static char *
extract_ok(const char *file, const char *as, int max)
{
	GBytes *b = load(file);
	gsize len;
	const char *data = g_bytes_get_data(b, &len);
	struct pipeline_error err = { 0 };
	char *text = extract_text(data, len, as != NULL ? as : file, max, &err);

	if (text == NULL)
		g_error("%s: %s", file, err.message);
	g_assert_null(err.message);
	g_assert_null(strstr(text, "  "));
	g_assert_null(strstr(text, "\n\n\n"));
	g_bytes_unref(b);
	return text;
}

static int
count(const char *text, const char *needle)
{
	int n = 0;

	for (const char *s = strstr(text, needle); s != NULL; s = strstr(s + 1, needle))
		n++;
	return n;
}

static void
test_html(void)
{
	char *text = extract_ok("sample.html", NULL, 40000);
	const char *gone[] = { "trackingPixel", "font-family", "Subscribe", "Home", "Copyright", "Advertisement",
	    "Cookie banner", "Magazine", "DOCTYPE", "<", "&" };

	/* The heading is the first paragraph, headings stay paragraphs. */
	g_assert_true(g_str_has_prefix(text, "The Semaphore Telegraph\n\nIn seventeen ninety four"));
	g_assert_nonnull(strstr(text, "brothers.\n\nArms on a Tower\n\nEach Chappe station"));
	/* windows-1252 (declared in a meta http-equiv): the curly quotes are
	 * bytes 0x93/0x94; named and numeric entities decoded, &nbsp; a space. */
	g_assert_nonnull(strstr(text, "the t\xc3\xa9l\xc3\xa9graphe \xe2\x80\x94 "
	    "\xe2\x80\x9cthe far writer\xe2\x80\x9d \xe2\x80\x94 and the name outlived it. "
	    "Stations were numbered"));
	g_assert_nonnull(strstr(text, "\n\nParis to Lille 23"));
	for (gsize i = 0; i < G_N_ELEMENTS(gone); i++)
		if (strstr(text, gone[i]) != NULL)
			g_error("\"%s\" should have been dropped:\n%s", gone[i], text);
	g_free(text);
}

static char *
extract_bytes(const char *data, const char *name)
{
	struct pipeline_error err = { 0 };
	char *text = extract_text(data, strlen(data), name, 1000, &err);

	if (text == NULL)
		g_error("%s: %s", name, err.message);
	return text;
}

static void
test_html_charsets(void)
{
	char *text;

	/* <meta charset>, latin-1 bytes. */
	text = extract_bytes("<!DOCTYPE html><html><head><meta charset=\"iso-8859-1\"></head>"
	    "<body><p>Caf\xe9 cr\xe8me.</p></body></html>", "x.html");
	g_assert_cmpstr(text, ==, "Caf\xc3\xa9 cr\xc3\xa8me.");
	g_free(text);
	/* No declaration and not UTF-8: windows-1252, as browsers read it. */
	text = extract_bytes("<html><body><p>\x93Quoted\x94 \x96 caf\xe9</p></body></html>", "x.htm");
	g_assert_cmpstr(text, ==, "\xe2\x80\x9cQuoted\xe2\x80\x9d \xe2\x80\x93 caf\xc3\xa9");
	g_free(text);
	/* UTF-8 stays UTF-8; script and style never leak, blocks split, <br><br> too. */
	text = extract_bytes("<html><head><title>T</title><style>p{}</style></head><body>"
	    "<div>One <b>bold</b> line<br>same paragraph<br><br>new one</div><script>x()</script>"
	    "<ul><li>\xc3\xa9t\xc3\xa9</li><li>hiver</li></ul></body></html>", "x.html");
	g_assert_cmpstr(text, ==, "One bold line same paragraph\n\nnew one\n\n\xc3\xa9t\xc3\xa9\n\nhiver");
	g_free(text);
}

static void
test_epub(void)
{
	char *text = extract_ok("sample.epub", NULL, 40000);
	const char *one = strstr(text, "Chapter One: Bees and People");
	const char *two = strstr(text, "Chapter Two: The Skep and the Frame");
	const char *three = strstr(text, "Chapter Three: The Colony as a Whole");

	/* The title page, then the chapters in the spine's order, each once
	 * (the navigation document's table of contents is not read). */
	g_assert_true(g_str_has_prefix(text, "A Short History of Beekeeping\n\n"));
	g_assert_nonnull(one);
	g_assert_true(one < two && two < three);
	g_assert_cmpint(count(text, "Chapter Two"), ==, 1);
	g_assert_nonnull(strstr(text, "Lorenzo Langstroth noticed that bees leave a gap"));
	g_assert_true(g_str_has_suffix(text, "leave the bees enough honey to survive the winter."));
	g_assert_null(strstr(text, "code{"));
	g_assert_null(strstr(text, "ch001.xhtml"));
	g_free(text);

	/* The spine decides the order (two before one, then the notes),
	 * linear="no" is left out, hrefs are percent-decoded without their fragment, and an XHTML
	 * 1.1 chapter's HTML entities are decoded without loading its DTD. */
	text = extract_ok("features.epub", NULL, 40000);
	g_assert_true(g_str_has_prefix(text, "Chapter Two: The Skep and the Frame\n\n"));
	g_assert_null(strstr(text, "Chapter Three"));
	g_assert_nonnull(strstr(text, "Chapter One: Bees and People\n\nHoney hunters in Nepal still climb "
	    "cliffs \xe2\x80\x94 as caf\xc3\xa9 owners buy their honey.\n\n"));
	/* A text/html item, UTF-8 without a declaration, above the OPF's directory. */
	g_assert_true(g_str_has_suffix(text, "honey.\n\nNotes on the caf\xc3\xa9 hives."));
	g_assert_null(strstr(text, "NOT SHOWN"));
	g_free(text);
}

static void
test_docx(void)
{
	char *text = extract_ok("sample.docx", NULL, 40000);

	/* Title and headings are paragraphs of their own; runs join as written. */
	g_assert_true(g_str_has_prefix(text, "Tide Mills of the Atlantic Coast\n\nLong before anyone spoke"));
	g_assert_nonnull(strstr(text, "fills the pond again.\n\nHow the Millpond Worked\n\nThe heart of every"));
	g_assert_cmpint(count(text, "\n\n"), ==, 10);   /* eleven paragraphs */
	g_free(text);

	text = extract_ok("features.docx", NULL, 40000);
	g_assert_cmpstr(text, ==, "Sluice Gates\n\nEbb flood second line\n\n"
	    "after the page break, a well-kept pond.\n\nChosen text box.");
	g_free(text);
}

static void
test_content_beats_name(void)
{
	char *text = extract_ok("sample.docx", "podcasts/u/report.pdf", 40000);

	g_assert_true(g_str_has_prefix(text, "Tide Mills"));
	g_free(text);
	text = extract_ok("sample.epub", "book.zip", 40000);
	g_assert_true(g_str_has_prefix(text, "A Short History of Beekeeping"));
	g_free(text);
	text = extract_ok("sample.html", "page", 40000);
	g_assert_true(g_str_has_prefix(text, "The Semaphore Telegraph"));
	g_free(text);
}

static glong
max_rss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* 200 KB that inflate to 128 MiB of empty paragraphs: refused once the
 * unpack limit (about 26 MiB for 40,000 characters) is passed, in
 * bounded time and memory. */
static void
test_zip_bomb(void)
{
	glong before = max_rss_kib();
	gint64 start = g_get_monotonic_time();
	struct pipeline_error err = { 0 };
	char *text = extract_file("bomb.docx", 40000, &err);
	double seconds = (double)(g_get_monotonic_time() - start) / G_USEC_PER_SEC;

	g_assert_null(text);
	g_assert_cmpstr(err.message, ==, "The document is too large: it unpacks to more than 26 MiB");
	g_assert_true(err.permanent);
	g_assert_cmpfloat(seconds, <, 30.0);   /* 0.7 s optimised, 4 s under ASan, on a busy machine */
	/* Read whole, the member alone would take 128 MiB. */
	g_assert_cmpint(max_rss_kib() - before, <, 48 * 1024);
	pipeline_error_clear(&err);
	g_test_message("bomb refused in %.2f s", seconds);
}

/* 48 MiB of prose, more than the unpack limit: reading stops once there
 * is text enough for the cut, so a long book is not taken for a bomb. */
static void
test_long_docx(void)
{
	char *text = extract_ok("long.docx", NULL, 40000);

	g_assert_cmpint(g_utf8_strlen(text, -1), <=, 40000);
	g_assert_cmpint(g_utf8_strlen(text, -1), >, 39000);
	g_assert_true(g_str_has_suffix(text, "with the sea."));
	g_free(text);
	/* The same cut at sentence ends for the other new formats. */
	text = extract_ok("sample.epub", NULL, 600);
	g_assert_cmpint(g_utf8_strlen(text, -1), <=, 600);
	g_assert_true(g_str_has_suffix(text, "."));
	g_free(text);
}

static void
put16(GByteArray *b, guint v)
{
	guint8 le[2] = { v & 0xff, (v >> 8) & 0xff };

	g_byte_array_append(b, le, 2);
}

static void
put32(GByteArray *b, guint32 v)
{
	put16(b, v & 0xffff);
	put16(b, v >> 16);
}

/* A ZIP of N empty, stored members named word/N.xml plus the two a DOCX
 * has, written by hand (APPNOTE 4.3: local headers, central directory,
 * end record), as small as such a file can be. */
static GByteArray *
many_member_zip(guint n)
{
	GByteArray *b = g_byte_array_new(), *cd = g_byte_array_new();
	guint total = n + 2;

	for (guint i = 0; i < total; i++) {
		char *name = i == 0 ? g_strdup("[Content_Types].xml") :
		    i == 1 ? g_strdup("word/document.xml") : g_strdup_printf("word/%u.xml", i);
		guint32 offset = b->len;
		guint len = (guint)strlen(name);

		put32(b, 0x04034b50);                   /* local file header */
		put16(b, 10); put16(b, 0); put16(b, 0); put16(b, 0); put16(b, 0);
		put32(b, 0); put32(b, 0); put32(b, 0);  /* CRC-32 and sizes of nothing */
		put16(b, len); put16(b, 0);
		g_byte_array_append(b, (guint8 *)name, len);
		put32(cd, 0x02014b50);                  /* central directory entry */
		put16(cd, 20); put16(cd, 10); put16(cd, 0); put16(cd, 0); put16(cd, 0); put16(cd, 0);
		put32(cd, 0); put32(cd, 0); put32(cd, 0);
		put16(cd, len); put16(cd, 0); put16(cd, 0); put16(cd, 0); put16(cd, 0);
		put32(cd, 0); put32(cd, offset);
		g_byte_array_append(cd, (guint8 *)name, len);
		g_free(name);
	}
	{
		guint32 cd_offset = b->len, cd_size = cd->len;

		g_byte_array_append(b, cd->data, cd->len);
		put32(b, 0x06054b50);                   /* end of central directory */
		put16(b, 0); put16(b, 0); put16(b, total); put16(b, total);
		put32(b, cd_size); put32(b, cd_offset); put16(b, 0);
	}
	g_byte_array_free(cd, TRUE);
	return b;
}

/* More members than EXTRACT_ZIP_MAX_ENTRIES: refused before any is read;
 * just under the cap, the archive opens (and its empty document has no text). */
static void
test_zip_entry_cap(void)
{
	struct pipeline_error err = { 0 };
	GByteArray *zip = many_member_zip(10000 - 1);
	char *text = extract_text(zip->data, zip->len, "many.docx", 40000, &err);

	g_assert_null(text);
	g_assert_cmpstr(err.message, ==, "The document is too large: its ZIP archive holds more than 10000 files");
	pipeline_error_clear(&err);
	g_byte_array_free(zip, TRUE);
	zip = many_member_zip(10000 - 2);
	text = extract_text(zip->data, zip->len, "many.docx", 40000, &err);
	g_assert_null(text);
	g_assert_cmpstr(err.message, ==, "The document contains no extractable text");
	pipeline_error_clear(&err);
	g_byte_array_free(zip, TRUE);
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
	g_test_add_func("/extract/html", test_html);
	g_test_add_func("/extract/html-charsets", test_html_charsets);
	g_test_add_func("/extract/epub", test_epub);
	g_test_add_func("/extract/docx", test_docx);
	g_test_add_func("/extract/content-beats-name", test_content_beats_name);
	g_test_add_func("/extract/zip-failures", test_zip_failures);
	g_test_add_func("/extract/zip-bomb", test_zip_bomb);
	g_test_add_func("/extract/long-docx", test_long_docx);
	g_test_add_func("/extract/zip-entry-cap", test_zip_entry_cap);
	return g_test_run();
}
