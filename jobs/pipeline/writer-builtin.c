/* The offline writer. Scoring, in short (doc/pipeline.md has the rest):
 * a term's weight is log(1+tf)·log(1+N/df) over the document's sentences,
 * a sentence's score the sum of its distinct terms' weights over the square
 * root of its length, times position and length factors and a boost for
 * terms the listener asked about; sentences are then taken greedily, each
 * pick discounted by its overlap with those already taken. */
#include "autoconfig.h"

#include <math.h>
#include <string.h>

#include "audio.h"
#include "listener.h"
#include "providers.h"
#include "writer.h"

/* How long espeak-ng speaks a line, measured on 246 sentences of
 * tests/data's PDFs with both default voices (bench/pipeline.sh checks the
 * result): -0.25 s + 0.0595 s a letter or digit + 0.245 s a comma, colon or
 * semicolon + 0.53 s a sentence end (3.7 % off a line on average, the sum
 * of a script much closer); the mixer's pauses come between lines. */
#define WRITER_LINE_SECONDS (-0.25)
#define WRITER_LETTER_SECONDS 0.0595
#define WRITER_PAUSE_SECONDS 0.245
#define WRITER_END_SECONDS 0.53
#define WRITER_GAP_SPEAKER (AUDIO_PAUSE_SPEAKER_MS / 1000.0)
#define WRITER_GAP_SAME (AUDIO_PAUSE_SAME_MS / 1000.0)

#define WRITER_DEFAULT_SENTENCES 16
#define WRITER_MIN_SENTENCES 4
#define WRITER_MAX_SENTENCES 60

struct sentence {
	char *text;
	guint index;           /* in the document */
	guint paragraph;
	gboolean lead;         /* first of its paragraph */
	guint words;
	GPtrArray *terms;      /* distinct content terms (borrowed from the vocabulary) */
	double score;
	gboolean usable;
	gboolean picked;
	guint rank;            /* order of the greedy pick, from 0 */
};

struct writer_doc {
	GPtrArray *sentences;  /* of struct sentence * */
	GHashTable *tf;        /* term -> count in the document */
	GHashTable *df;        /* term -> sentences containing it */
	GHashTable *surface;   /* term -> first spelling seen (for titles) */
	GHashTable *vocab;     /* owns the term strings */
};

static const char *const writer_stopwords[] = {
	"a", "about", "above", "after", "again", "against", "all", "also", "although", "am", "among",
	"an", "and", "any", "are", "as", "at", "be", "because", "been", "before", "being", "below",
	"between", "both", "but", "by", "can", "could", "did", "do", "does", "doing", "down", "during",
	"each", "either", "even", "ever", "every", "few", "for", "from", "further", "had", "has", "have",
	"having", "he", "her", "here", "hers", "herself", "him", "himself", "his", "how", "however",
	"i", "if", "in", "into", "is", "it", "its", "itself", "just", "less", "like", "made", "make",
	"many", "may", "me", "might", "more", "most", "much", "must", "my", "myself", "neither", "no",
	"nor", "not", "now", "of", "off", "often", "on", "once", "one", "only", "or", "other", "others",
	"our", "ours", "out", "over", "own", "per", "perhaps", "rather", "same", "see", "seen", "she",
	"should", "since", "so", "some", "such", "than", "that", "the", "their", "theirs", "them",
	"then", "there", "these", "they", "this", "those", "though", "through", "thus", "to", "too",
	"two", "under", "until", "up", "upon", "us", "use", "used", "using", "very", "was", "we",
	"well", "were", "what", "when", "where", "whether", "which", "while", "who", "whom", "whose",
	"why", "will", "with", "within", "without", "would", "yet", "you", "your", "yours", "yourself",
	"said", "says", "say", "get", "got", "way", "ways", "new", "first", "second", "three", "based",
	"several", "various", "around", "across", "toward", "towards", "let", "keep", "want", "listener",
	"podcast", "focus", "please", "episode", "minutes", "minute", "short", "long", "brief",
	"detailed", "talk", "discuss", "mention", "explain", "include", "sure", "especially",
	/* Common adverbs and adjectives: poor topics for a host to react to. */
	"far", "near", "still", "never", "always", "nearly", "almost", "little", "great", "large",
	"small", "old", "simple", "late", "early", "good", "better", "best", "high", "low", "another",
	"least", "already", "instead", "quite", "enough", "really", "certain", "particular", "able",
	"important", "half", "full", "hard", "whole", "true", "likely", "today", "given", "known",
	"become", "became", "come", "came", "took", "take", "give", "gave", "find", "found", "went",
	"thing", "things", "time", "times", "year", "years", "day", "days", "part", "kind", "number",
	"lot", "lots", "something", "anything", "nothing", "everything", "someone", "within",
};

static const char *const writer_abbreviations[] = {
	"mr", "mrs", "ms", "dr", "prof", "st", "vs", "etc", "e.g", "i.e", "fig", "no", "vol", "pp",
	"inc", "ltd", "jr", "sr", "approx", "cf", "al", "eq", "sec", "ch",
};

static gboolean
writer_is_stopword(const char *w)
{
	static GHashTable *set;

	if (g_once_init_enter(&set)) {
		GHashTable *t = g_hash_table_new(g_str_hash, g_str_equal);

		for (gsize i = 0; i < G_N_ELEMENTS(writer_stopwords); i++)
			g_hash_table_add(t, (gpointer)writer_stopwords[i]);
		g_once_init_leave(&set, t);
	}
	return g_hash_table_contains(set, w);
}

/* A crude stem: plural and possessive endings fold onto the singular, so
 * "engine" and "engines" count as one term. */
static char *
writer_stem(const char *word)
{
	gsize n = strlen(word);

	if (n > 4 && g_str_has_suffix(word, "ies")) {
		char *base = g_strndup(word, n - 3), *stem = g_strconcat(base, "y", NULL);

		g_free(base);
		return stem;
	}
	if (n > 4 && word[n - 1] == 's' && word[n - 2] != 's' && word[n - 2] != 'u' && word[n - 2] != 'i')
		return g_strndup(word, n - 1);
	return g_strdup(word);
}

/* Words of letters and digits, in order (new strings), lower-cased unless
 * KEEP_CASE. */
static GPtrArray *
writer_words_case(const char *text, gboolean keep_case)
{
	GPtrArray *words = g_ptr_array_new_with_free_func(g_free);
	GString *w = g_string_new(NULL);

	for (const char *s = text;; s = g_utf8_next_char(s)) {
		gunichar c = g_utf8_get_char(s);

		if (c != 0 && (g_unichar_isalnum(c) || (c == '\'' && w->len > 0) || (c == '-' && w->len > 0))) {
			g_string_append_unichar(w, keep_case ? c : g_unichar_tolower(c));
			continue;
		}
		while (w->len > 0 && (w->str[w->len - 1] == '\'' || w->str[w->len - 1] == '-'))
			g_string_truncate(w, w->len - 1);
		if (g_str_has_suffix(w->str, "'s") || g_str_has_suffix(w->str, "'S"))
			g_string_truncate(w, w->len - 2);
		if (w->len > 0)
			g_ptr_array_add(words, g_strdup(w->str));
		g_string_truncate(w, 0);
		if (c == 0)
			break;
	}
	g_string_free(w, TRUE);
	return words;
}

static GPtrArray *
writer_words(const char *text)
{
	return writer_words_case(text, FALSE);
}

static gboolean
writer_is_content_word(const char *w)
{
	gboolean letters = FALSE;

	if (g_utf8_strlen(w, -1) < 3 || writer_is_stopword(w))
		return FALSE;
	for (const char *s = w; *s != '\0'; s = g_utf8_next_char(s)) {
		if (g_unichar_isalpha(g_utf8_get_char(s)))
			letters = TRUE;
	}
	return letters;
}

static gboolean
writer_ends_with_abbreviation(const char *start, const char *dot)
{
	const char *w = dot;
	char *word;
	gboolean abbr = FALSE;

	while (w > start && !g_ascii_isspace(w[-1]) && w[-1] != '(')
		w--;
	word = g_ascii_strdown(w, dot - w);
	if (strlen(word) == 1 && g_ascii_isalpha(*word))
		abbr = TRUE;   /* an initial: "J. Smith" */
	for (gsize i = 0; !abbr && i < G_N_ELEMENTS(writer_abbreviations); i++)
		abbr = strcmp(word, writer_abbreviations[i]) == 0;
	g_free(word);
	return abbr;
}

static void
writer_add_sentence(GPtrArray *out, const char *from, const char *to)
{
	char *s = g_strstrip(g_strndup(from, (gsize)(to - from)));

	if (*s != '\0')
		g_ptr_array_add(out, s);
	else
		g_free(s);
}

GPtrArray *
writer_split_sentences(const char *text)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
	const char *start = text, *s = text;

	while (*s != '\0') {
		if (s[0] == '\n' && s[1] == '\n') {
			writer_add_sentence(out, start, s);
			start = s + 2;
			s += 2;
			continue;
		}
		if (*s == '.' || *s == '!' || *s == '?') {
			const char *e = s + 1, *n;

			while (*e == '"' || *e == '\'' || *e == ')' || *e == ']' ||
			    g_str_has_prefix(e, "\xe2\x80\x9d") || g_str_has_prefix(e, "\xe2\x80\x99"))
				e += (*e & 0x80) ? 3 : 1;
			n = e;
			if (*n == ' ' || *n == '\n') {
				while (*n == ' ')
					n++;
				if ((*n == '\0' || *n == '\n' || g_unichar_isupper(g_utf8_get_char(n)) ||
				    g_ascii_isdigit(*n) || *n == '"' || *n == '(' || (*n & 0x80)) &&
				    !(*s == '.' && writer_ends_with_abbreviation(start, s))) {
					writer_add_sentence(out, start, e);
					start = s = e;
					continue;
				}
			}
		}
		s++;
	}
	writer_add_sentence(out, start, s);
	return out;
}

static void
writer_sentence_free(gpointer p)
{
	struct sentence *s = p;

	g_free(s->text);
	if (s->terms != NULL)
		g_ptr_array_unref(s->terms);
	g_free(s);
}

static void
writer_doc_clear(struct writer_doc *doc)
{
	g_ptr_array_unref(doc->sentences);
	g_hash_table_unref(doc->tf);
	g_hash_table_unref(doc->df);
	g_hash_table_unref(doc->surface);
	g_hash_table_unref(doc->vocab);
}

/* The term's shared copy, interned in the vocabulary. */
static const char *
writer_intern(struct writer_doc *doc, const char *term)
{
	char *t = g_hash_table_lookup(doc->vocab, term);

	if (t == NULL) {
		t = g_strdup(term);
		g_hash_table_add(doc->vocab, t);
	}
	return t;
}

/* Fragments, tables, references and shouting are not worth saying aloud. */
static gboolean
writer_is_speakable(const char *text, guint words)
{
	guint letters = 0, others = 0, upper = 0;

	if (words < 6 || words > 60 || strstr(text, "http") != NULL || strstr(text, "www.") != NULL)
		return FALSE;
	for (const char *s = text; *s != '\0'; s = g_utf8_next_char(s)) {
		gunichar c = g_utf8_get_char(s);

		if (g_unichar_isalpha(c)) {
			letters++;
			upper += g_unichar_isupper(c) ? 1 : 0;
		} else if (!g_unichar_isspace(c)) {
			others++;
		}
	}
	return letters > 3 * others && upper * 2 < letters;
}

static void
writer_doc_build(struct writer_doc *doc, const char *text)
{
	GPtrArray *sents = writer_split_sentences(text);
	guint paragraph = 0;
	const char *para_end;

	doc->sentences = g_ptr_array_new_with_free_func(writer_sentence_free);
	doc->tf = g_hash_table_new(g_str_hash, g_str_equal);
	doc->df = g_hash_table_new(g_str_hash, g_str_equal);
	doc->surface = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
	doc->vocab = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

	/* Paragraph numbers come from where each sentence sits in TEXT. */
	para_end = strstr(text, "\n\n");
	const char *cursor = text;

	for (guint i = 0; i < sents->len; i++) {
		const char *raw = g_ptr_array_index(sents, i);
		struct sentence *s = g_new0(struct sentence, 1);
		GPtrArray *words = writer_words(raw), *spelled = writer_words_case(raw, TRUE);
		GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);
		const char *at = strstr(cursor, raw);
		guint before = paragraph;

		if (at != NULL) {
			while (para_end != NULL && para_end < at) {
				paragraph++;
				para_end = strstr(para_end + 2, "\n\n");
			}
			cursor = at + strlen(raw);
		}
		s->text = g_strdup(raw);
		s->index = i;
		s->paragraph = paragraph;
		s->lead = i == 0 || paragraph != before;
		s->words = words->len;
		s->terms = g_ptr_array_new();
		s->usable = writer_is_speakable(raw, words->len);
		for (guint w = 0; w < words->len; w++) {
			const char *word = g_ptr_array_index(words, w);
			char *stem;
			const char *term;

			if (!writer_is_content_word(word))
				continue;
			stem = writer_stem(word);
			term = writer_intern(doc, stem);
			g_free(stem);
			g_hash_table_insert(doc->tf, (gpointer)term,
			    GUINT_TO_POINTER(GPOINTER_TO_UINT(g_hash_table_lookup(doc->tf, term)) + 1));
			/* A spelling in lower case anywhere means a common noun;
			 * only capitals everywhere (Fresnel) keep them. */
			if (!g_hash_table_contains(doc->surface, term) ||
			    strcmp(g_ptr_array_index(spelled, w), word) == 0)
				g_hash_table_insert(doc->surface, (gpointer)term,
				    g_strdup(g_ptr_array_index(spelled, w)));
			if (g_hash_table_add(seen, (gpointer)term)) {
				g_ptr_array_add(s->terms, (gpointer)term);
				g_hash_table_insert(doc->df, (gpointer)term,
				    GUINT_TO_POINTER(GPOINTER_TO_UINT(g_hash_table_lookup(doc->df, term)) + 1));
			}
		}
		g_hash_table_unref(seen);
		g_ptr_array_unref(spelled);
		g_ptr_array_unref(words);
		g_ptr_array_add(doc->sentences, s);
	}
	if (doc->sentences->len == 1)   /* a one-sentence document is what it is */
		((struct sentence *)g_ptr_array_index(doc->sentences, 0))->usable = TRUE;
	g_ptr_array_unref(sents);
}

static double
writer_term_weight(const struct writer_doc *doc, const char *term)
{
	double tf = GPOINTER_TO_UINT(g_hash_table_lookup(doc->tf, term));
	double df = GPOINTER_TO_UINT(g_hash_table_lookup(doc->df, term));
	double n = doc->sentences->len;

	if (tf == 0 || df == 0)
		return 0;
	return log1p(tf) * log1p(n / df);
}

/* Terms of the listener's wishes that the document also uses. */
static GHashTable *
writer_wish_terms(struct writer_doc *doc, const char *requirements)
{
	GHashTable *wish = g_hash_table_new(g_str_hash, g_str_equal);
	GPtrArray *words;

	if (requirements == NULL)
		return wish;
	words = writer_words(requirements);
	for (guint i = 0; i < words->len; i++) {
		const char *w = g_ptr_array_index(words, i);
		char *stem;
		const char *term;

		if (!writer_is_content_word(w))
			continue;
		stem = writer_stem(w);
		term = g_hash_table_lookup(doc->vocab, stem);
		if (term != NULL)
			g_hash_table_add(wish, (gpointer)term);
		g_free(stem);
	}
	g_ptr_array_unref(words);
	return wish;
}

static void
writer_score(struct writer_doc *doc, GHashTable *wish)
{
	guint n = doc->sentences->len;

	for (guint i = 0; i < n; i++) {
		struct sentence *s = g_ptr_array_index(doc->sentences, i);
		double sum = 0, factor = 1;
		guint wished = 0;

		for (guint t = 0; t < s->terms->len; t++) {
			const char *term = g_ptr_array_index(s->terms, t);

			sum += writer_term_weight(doc, term);
			wished += g_hash_table_contains(wish, term) ? 1 : 0;
		}
		if (s->words < 10)
			factor *= 0.7;
		else if (s->words > 40)
			factor *= 0.75;
		if (s->lead)
			factor *= 1.15;
		if (i < MAX(1u, n / 10))
			factor *= 1.1;
		factor *= MIN(2.5, 1 + 0.6 * wished);
		s->score = s->words > 0 ? factor * sum / sqrt((double)s->words) : 0;
	}
}

/* Share of A's terms already said by B: 0 (new) to 1 (a repeat). */
static double
writer_overlap(const struct sentence *a, const struct sentence *b)
{
	guint common = 0;
	guint smaller = MIN(a->terms->len, b->terms->len);

	if (smaller == 0)
		return 0;
	for (guint i = 0; i < a->terms->len; i++) {
		for (guint j = 0; j < b->terms->len; j++) {
			if (g_ptr_array_index(a->terms, i) == g_ptr_array_index(b->terms, j)) {
				common++;
				break;
			}
		}
	}
	return (double)common / smaller;
}

static gint
writer_by_position(gconstpointer a, gconstpointer b)
{
	const struct sentence *x = *(struct sentence *const *)a, *y = *(struct sentence *const *)b;

	return x->index < y->index ? -1 : x->index > y->index;
}

/* Greedy pick: best score discounted by overlap with what is already in
 * (each sentence's largest overlap with a pick, kept up to date as picks
 * are made). Sets each pick's rank. */
static GPtrArray *
writer_pick(struct writer_doc *doc, guint want)
{
	GPtrArray *picked = g_ptr_array_new();
	double *redundancy = g_new0(double, doc->sentences->len + 1);

	while (picked->len < want) {
		struct sentence *best = NULL;
		double best_value = 0;

		for (guint i = 0; i < doc->sentences->len; i++) {
			struct sentence *s = g_ptr_array_index(doc->sentences, i);
			double value;

			if (s->picked || !s->usable || redundancy[i] > 0.8)
				continue;
			value = s->score * (1 - 0.7 * redundancy[i]);
			if (best == NULL || value > best_value) {
				best = s;
				best_value = value;
			}
		}
		if (best == NULL)
			break;
		best->picked = TRUE;
		best->rank = picked->len;
		g_ptr_array_add(picked, best);
		for (guint i = 0; i < doc->sentences->len; i++) {
			struct sentence *s = g_ptr_array_index(doc->sentences, i);

			if (!s->picked && s->usable)
				redundancy[i] = MAX(redundancy[i], writer_overlap(s, best));
		}
	}
	g_free(redundancy);
	g_ptr_array_sort(picked, writer_by_position);
	return picked;
}

/* How many sentences the listener's wishes ask for. */
static guint
writer_length_hint(const char *requirements)
{
	GMatchInfo *m = NULL;
	guint want = WRITER_DEFAULT_SENTENCES;
	char *r;

	if (requirements == NULL)
		return want;
	r = g_utf8_strdown(requirements, -1);
	if (g_regex_match_simple("\\b(short|brief|quick|concise)\\b", r, 0, 0))
		want = 8;
	if (g_regex_match_simple("\\b(long|detailed|in-depth|thorough|comprehensive|deep dive)\\b", r, 0, 0))
		want = 28;
	if (g_regex_match_simple("(\\d+)\\s*(-\\s*)?min", r, 0, 0)) {
		GRegex *re = g_regex_new("(\\d+)\\s*(-\\s*)?min", 0, 0, NULL);

		if (g_regex_match(re, r, 0, &m)) {
			char *digits = g_match_info_fetch(m, 1);

			/* About five picked sentences, with the hosts' talk around
			 * them, fill a minute of espeak or ElevenLabs speech. */
			want = (guint)CLAMP(g_ascii_strtoull(digits, NULL, 10) * 5, WRITER_MIN_SENTENCES,
			    WRITER_MAX_SENTENCES);
			g_free(digits);
		}
		g_match_info_free(m);
		g_regex_unref(re);
	}
	g_free(r);
	return want;
}

/* The document's key terms, best first (borrowed strings). */
static GPtrArray *
writer_keywords(struct writer_doc *doc, guint count)
{
	GPtrArray *terms = g_ptr_array_new(), *out = g_ptr_array_new();
	GHashTableIter it;
	gpointer key;

	g_hash_table_iter_init(&it, doc->tf);
	while (g_hash_table_iter_next(&it, &key, NULL))
		g_ptr_array_add(terms, key);
	/* Sorting by weight, ties by the term itself, keeps this deterministic. */
	for (guint i = 0; i < terms->len; i++) {
		for (guint j = i + 1; j < terms->len; j++) {
			const char *a = g_ptr_array_index(terms, i), *b = g_ptr_array_index(terms, j);
			double wa = writer_term_weight(doc, a) * GPOINTER_TO_UINT(g_hash_table_lookup(doc->tf, a));
			double wb = writer_term_weight(doc, b) * GPOINTER_TO_UINT(g_hash_table_lookup(doc->tf, b));

			if (wb > wa || (wb == wa && strcmp(b, a) < 0)) {
				g_ptr_array_index(terms, i) = (gpointer)b;
				g_ptr_array_index(terms, j) = (gpointer)a;
			}
		}
		if (i + 1 >= count)
			break;
	}
	for (guint i = 0; i < terms->len && out->len < count; i++)
		g_ptr_array_add(out, g_hash_table_lookup(doc->surface, g_ptr_array_index(terms, i)));
	g_ptr_array_unref(terms);
	return out;
}

static char *
writer_capitalise(const char *word)
{
	gunichar first = g_utf8_get_char(word);
	char buf[8] = { 0 };

	g_unichar_to_utf8(g_unichar_totitle(first), buf);
	return g_strconcat(buf, g_utf8_next_char(word), NULL);
}

static char *
writer_title(struct writer_doc *doc, GPtrArray *keywords, const char *const names[2])
{
	const char *first = doc->sentences->len > 0 ?
	    ((struct sentence *)g_ptr_array_index(doc->sentences, 0))->text : "";
	char **words = g_strsplit_set(first, " ", -1);
	guint n = g_strv_length(words);
	gsize len = strlen(first);
	char *title;

	/* A heading as the first paragraph is the author's own title. */
	if (doc->sentences->len > 1 && len > 0 && strchr(".!?:", first[len - 1]) == NULL &&
	    ((struct sentence *)g_ptr_array_index(doc->sentences, 1))->paragraph > 0) {
		if (n >= 5 && n <= 10) {
			title = g_strdup(first);
			goto out;
		}
		if (n >= 2 && n <= 4) {
			title = g_strdup_printf("%s: A Closer Look", first);
			goto out;
		}
	}
	if (keywords->len >= 3) {
		char *a = writer_capitalise(g_ptr_array_index(keywords, 0));
		char *b = writer_capitalise(g_ptr_array_index(keywords, 1));
		char *c = writer_capitalise(g_ptr_array_index(keywords, 2));

		title = g_strdup_printf("%s and %s on %s, %s and %s", names[0], names[1], a, b, c);
		g_free(a);
		g_free(b);
		g_free(c);
	} else if (keywords->len > 0) {
		char *a = writer_capitalise(g_ptr_array_index(keywords, 0));

		title = g_strdup_printf("%s and %s Talk About %s", names[0], names[1], a);
		g_free(a);
	} else {
		title = g_strdup_printf("%s and %s Read a Document", names[0], names[1]);
	}
out:
	g_strfreev(words);
	return title;
}

static guint
writer_pick_variant(const char *text, guint n)
{
	return g_str_hash(text) % n;
}

/* What S is about, for the other host's reaction: its most distinctive
 * term that the document uses more than once, not the one just used. */
static const char *
writer_sentence_topic(struct writer_doc *doc, const struct sentence *s, const char *previous)
{
	const char *best = NULL;
	double best_w = -1;

	for (guint t = 0; t < s->terms->len; t++) {
		const char *term = g_ptr_array_index(s->terms, t);
		const char *surface = g_hash_table_lookup(doc->surface, term);
		double w = writer_term_weight(doc, term);

		if (GPOINTER_TO_UINT(g_hash_table_lookup(doc->tf, term)) < 3 ||
		    g_strcmp0(surface, previous) == 0)
			continue;
		if (w > best_w || (w == best_w && strcmp(term, best) < 0)) {
			best = term;
			best_w = w;
		}
	}
	return best != NULL ? g_hash_table_lookup(doc->surface, best) : "that";
}

/* The heading S falls under: the last sentence at or before it that is a
 * paragraph of its own, 1 to 12 words, without final punctuation ("Fire,
 * Coal and Candles"); NULL under none or under the document's first line
 * (its title). Chapters start where the script moves to another one. */
static const struct sentence *
writer_section(struct writer_doc *doc, const struct sentence *s)
{
	for (guint i = s->index + 1; i-- > 1;) {
		const struct sentence *h = g_ptr_array_index(doc->sentences, i);
		const struct sentence *next = i + 1 < doc->sentences->len ?
		    g_ptr_array_index(doc->sentences, i + 1) : NULL;
		gsize len = strlen(h->text);

		if (h->lead && (next == NULL || next->paragraph != h->paragraph) && h->words >= 1 &&
		    h->words <= 12 && len > 0 && strchr(".!?:;,", h->text[len - 1]) == NULL)
			return h;
	}
	return NULL;
}

/* Adds a line that starts the topic *MARK (when not NULL, then spent). */
static void
writer_say(struct script *script, const char *speaker, const char *text, const char **mark)
{
	script_add_line_topic(script, speaker, text, *mark);
	*mark = NULL;
}

/* Templates are a text before and after the sentence or topic; a style's
 * table ends with { NULL, NULL }. */
typedef const char *const writer_template[2];

static const writer_template writer_present_talk[] = {
	{ "", "" }, { "Here's what stands out to me. ", "" },
	{ "The document puts it like this. ", "" }, { "", "" }, { "Consider this. ", "" },
	{ "One key point: ", "" }, { "", "" }, { NULL, NULL },
};
static const writer_template writer_react_talk[] = {
	{ "Interesting. So this is really about ", "." }, { "Wait, tell me more about ", "." },
	{ "I didn't expect that about ", "." },
	{ "Okay, and where does that leave ", "?" },
	{ "That's a helpful way to think about ", "." },
	{ "Hmm, so it all comes back to ", "." }, { NULL, NULL },
};
static const writer_template writer_answer_talk[] = {
	{ "Exactly, and that ties back to ", "." },
	{ "Right. That's why we keep coming back to ", "." },
	{ "Yes, and it's worth keeping ", " in mind as we go on." }, { NULL, NULL },
};
static const writer_template writer_ask_interview[] = {
	{ "So what does the document tell us about ", "?" },
	{ "Let me ask you about ", ". What should we know?" },
	{ "And ", ": how does that fit in?" },
	{ "Walk me through ", ", would you?" }, { NULL, NULL },
};
static const writer_template writer_react_debate[] = {
	{ "I'm not sure I buy that about ", ". Isn't there another side to it?" },
	{ "Hold on. Aren't we overstating ", "?" },
	{ "Devil's advocate here: why should anyone care about ", "?" },
	{ "That sounds neat, but is it really that simple with ", "?" }, { NULL, NULL },
};
static const writer_template writer_answer_debate[] = {
	{ "Fair challenge, but the document is clear about ", "." },
	{ "I'd push back on that. The evidence on ", " holds up." },
	{ "You have a point, yet ", " still matters here." }, { NULL, NULL },
};
static const writer_template writer_present_story[] = {
	{ "Picture this. ", "" }, { "And then, ", "" }, { "Here's where it gets interesting. ", "" },
	{ "", "" }, { "The story goes on. ", "" }, { NULL, NULL },
};
static const writer_template writer_react_story[] = {
	{ "And what happened with ", " next?" }, { "Go on, what about ", "?" },
	{ "I love this part about ", "." }, { NULL, NULL },
};
static const writer_template writer_present_lecture[] = {
	{ "A key idea. ", "" }, { "Note this. ", "" }, { "The next point. ", "" }, { "", "" },
	{ "Remember this one. ", "" }, { NULL, NULL },
};
static const writer_template writer_react_lecture[] = {
	{ "So, in short, it's about ", "." }, { "Let me sum up: the point is ", "." },
	{ "For the notes, then: ", "." }, { NULL, NULL },
};

/* How a style stages the picks: the analyst presents each one (PRESENT);
 * the commentator asks about it first (ASK, interview), reacts after
 * every REACT_EVERY-th (REACT, and the analyst answers with REBUT when
 * set: debate), and brings every OWN_EVERY-th point himself (0: never)
 * with the analyst tying it back (ANSWER). INTRO follows "I'm NAME0, ". */
struct writer_style {
	const char *name;
	const char *intro[2];
	const writer_template *present, *ask, *react, *rebut, *answer;
	guint react_every, own_every;
};

static const struct writer_style writer_styles[] = {
	{ "conversational", { "and with me as always is ", ". Today we're looking at " },
	  writer_present_talk, NULL, writer_react_talk, NULL, writer_answer_talk, 1, 4 },
	{ "interview", { "and today ", " is asking the questions. We're talking about " },
	  writer_present_talk, writer_ask_interview, NULL, NULL, writer_answer_talk, 0, 0 },
	{ "debate", { "and ", " is here to argue with me. Today's subject: " },
	  writer_present_talk, NULL, writer_react_debate, writer_answer_debate, writer_answer_talk, 2, 5 },
	{ "storytelling", { "and with ", " I'll tell you a story. It's about " },
	  writer_present_story, NULL, writer_react_story, NULL, writer_answer_talk, 2, 0 },
	{ "lecture", { "and ", " is here to keep me honest. Today's lesson: " },
	  writer_present_lecture, NULL, writer_react_lecture, NULL, writer_answer_talk, 3, 0 },
};

/* Who speaks and how: the hosts' names and the style. */
struct writer_cast {
	const char *names[2];
	const struct writer_style *style;
};

static const struct writer_style *
writer_style_find(const char *name)
{
	for (gsize i = 0; i < G_N_ELEMENTS(writer_styles); i++) {
		if (strcmp(writer_styles[i].name, name) == 0)
			return &writer_styles[i];
	}
	return &writer_styles[0];
}

/* TEMPLATES' variant for KEY, around MIDDLE (new string). */
static char *
writer_fill(const writer_template *templates, const char *key, const char *middle)
{
	guint n = 0, v;

	while (templates[n][0] != NULL)
		n++;
	v = writer_pick_variant(key, n);
	return g_strconcat(templates[v][0], middle, templates[v][1], NULL);
}

static void
writer_stage(struct script *script, struct writer_doc *doc, GPtrArray *picked,
    GPtrArray *keywords, GHashTable *wish, const struct writer_cast *cast)
{
	static const char *const onward[] = {
		"Let's move on. What comes next?", "So where does the story go from here?",
		"What else should we know?",
	};
	const struct writer_style *style = cast->style;
	const char *previous_topic = NULL, *mark = NULL;
	const struct sentence *section = NULL, *under;
	gboolean headed = doc->sentences->len > 0 &&
	    writer_section(doc, g_ptr_array_index(doc->sentences, doc->sentences->len - 1)) != NULL;
	const char *k0 = keywords->len > 0 ? g_ptr_array_index(keywords, 0) : "this subject";
	const char *k1 = keywords->len > 1 ? g_ptr_array_index(keywords, 1) : "the details";
	const char *k2 = keywords->len > 2 ? g_ptr_array_index(keywords, 2) : "what follows";
	char *line;

	line = g_strconcat("Welcome back to the show. I'm ", cast->names[0], ", ", style->intro[0],
	    cast->names[1], style->intro[1], script->title, ".", NULL);
	script_add_line_topic(script, SCRIPT_DOROTHY, line, "Introduction");
	g_free(line);
	line = g_strdup_printf("Thanks, %s. I've been curious about %s and %s ever since "
	    "I saw this one. Where do we start?", cast->names[0], k0, k1);
	script_add_line(script, SCRIPT_WILL, line);
	g_free(line);
	if (g_hash_table_size(wish) > 0) {
		GPtrArray *asked = g_ptr_array_new();
		GHashTableIter it;
		gpointer key;
		char *list;

		g_hash_table_iter_init(&it, wish);
		while (g_hash_table_iter_next(&it, &key, NULL))
			g_ptr_array_add(asked, g_hash_table_lookup(doc->surface, key));
		g_ptr_array_sort(asked, (GCompareFunc)g_strcmp0);
		if (asked->len > 3)
			g_ptr_array_set_size(asked, 3);
		g_ptr_array_add(asked, NULL);
		list = g_strjoinv(", ", (char **)asked->pdata);
		line = g_strdup_printf("Our listener asked us to pay attention to %s, so we'll keep "
		    "that front and centre.", list);
		script_add_line(script, SCRIPT_DOROTHY, line);
		g_free(line);
		g_free(list);
		g_ptr_array_free(asked, TRUE);
	}

	for (guint i = 0; i < picked->len; i++) {
		const struct sentence *s = g_ptr_array_index(picked, i);
		const char *topic = writer_sentence_topic(doc, s, previous_topic);

		previous_topic = topic;
		/* A new heading is a new chapter; without headings, a jump ahead
		 * is, named by what the point is about. */
		if ((under = writer_section(doc, s)) != NULL && under != section)
			mark = (section = under)->text;
		if (i > 0 && i % 4 != 3 && i % 3 == 0 &&
		    s->paragraph > ((struct sentence *)g_ptr_array_index(picked, i - 1))->paragraph + 1) {
			char *title = !headed && strcmp(topic, "that") != 0 ? writer_capitalise(topic) : NULL;

			script_add_line_topic(script, SCRIPT_WILL, onward[(i / 3) % G_N_ELEMENTS(onward)],
			    mark != NULL ? mark : title);
			mark = NULL;
			g_free(title);
		}
		if (style->own_every > 0 && i % style->own_every == style->own_every - 1) {
			/* The commentator brings a point himself now and then. */
			line = g_strdup_printf("I noticed something myself. %s", s->text);
			writer_say(script, SCRIPT_WILL, line, &mark);
			g_free(line);
			line = writer_fill(style->answer, s->text, topic);
			script_add_line(script, SCRIPT_DOROTHY, line);
			g_free(line);
			continue;
		}
		if (style->ask != NULL) {
			line = writer_fill(style->ask, s->text, topic);
			writer_say(script, SCRIPT_WILL, line, &mark);
			g_free(line);
		}
		line = writer_fill(style->present, s->text, s->text);
		writer_say(script, SCRIPT_DOROTHY, line, &mark);
		g_free(line);
		if (style->react != NULL && i % style->react_every == style->react_every - 1) {
			line = writer_fill(style->react, s->text, topic);
			script_add_line(script, SCRIPT_WILL, line);
			g_free(line);
			if (style->rebut != NULL) {
				line = writer_fill(style->rebut, s->text, topic);
				script_add_line(script, SCRIPT_DOROTHY, line);
				g_free(line);
			}
		}
	}

	script_add_line_topic(script, SCRIPT_WILL,
	    "This has been eye-opening. If listeners remember one thing, what should it be?",
	    "Wrapping up");
	line = g_strdup_printf("That %s, %s and %s are more connected than they first appear. "
	    "Thanks for listening, everyone.", k0, k1, k2);
	script_add_line(script, SCRIPT_DOROTHY, line);
	g_free(line);
	line = g_strconcat("Thanks, ", cast->names[0], ", and thanks to all of you. See you next time.", NULL);
	script_add_line(script, SCRIPT_WILL, line);
	g_free(line);
}

static char *
writer_summary(GPtrArray *picked)
{
	GPtrArray *best = g_ptr_array_new();
	GString *out = g_string_new(NULL);

	for (guint i = 0; i < picked->len; i++)
		g_ptr_array_add(best, g_ptr_array_index(picked, i));
	/* The three highest-scoring picks, read in document order. */
	while (best->len > 3) {
		guint worst = 0;

		for (guint i = 1; i < best->len; i++) {
			if (((struct sentence *)g_ptr_array_index(best, i))->score <
			    ((struct sentence *)g_ptr_array_index(best, worst))->score)
				worst = i;
		}
		g_ptr_array_remove_index(best, worst);
	}
	for (guint i = 0; i < best->len; i++) {
		if (out->len > 0)
			g_string_append_c(out, ' ');
		g_string_append(out, ((struct sentence *)g_ptr_array_index(best, i))->text);
	}
	g_ptr_array_unref(best);
	return g_string_free(out, FALSE);
}

/* The script of PICKED (in document order). */
static struct script *
writer_compose(struct writer_doc *doc, GPtrArray *picked, GPtrArray *keywords, GHashTable *wish,
    const struct writer_cast *cast)
{
	struct script *script = script_new();

	script->title = writer_title(doc, keywords, cast->names);
	script->summary = writer_summary(picked);
	writer_stage(script, doc, picked, keywords, wish, cast);
	return script;
}

double
writer_builtin_seconds(const struct script *s, double seconds_per_letter)
{
	double total = 0;

	for (guint i = 0; i < s->lines->len; i++) {
		const struct script_line *line = g_ptr_array_index(s->lines, i);
		guint letters = 0, pauses = 0, ends = 0;

		for (const char *p = line->text; *p != '\0'; p = g_utf8_next_char(p)) {
			gunichar c = g_utf8_get_char(p);

			letters += g_unichar_isalnum(c) ? 1 : 0;
			pauses += c == ',' || c == ';' || c == ':' ? 1 : 0;
			ends += c == '.' || c == '!' || c == '?' ? 1 : 0;
		}
		total += MAX(0.3, WRITER_LINE_SECONDS + seconds_per_letter * letters +
		    WRITER_PAUSE_SECONDS * pauses + WRITER_END_SECONDS * ends);
		if (i > 0)
			total += strcmp(line->speaker, ((struct script_line *)g_ptr_array_index(s->lines,
			    i - 1))->speaker) == 0 ? WRITER_GAP_SAME : WRITER_GAP_SPEAKER;
	}
	return total;
}

/* Seconds a letter takes with the voices the settings choose: espeak-ng's
 * measured rate; other providers speak more slowly (about 150 words a
 * minute against espeak-ng's 190). */
static double
writer_letter_seconds(const struct config *cfg)
{
	const struct provider *p = cfg != NULL ? provider_choose(cfg, PROVIDER_VOICE) : NULL;

	return p == NULL || strcmp(p->name, "espeak") == 0 ? WRITER_LETTER_SECONDS :
	    WRITER_LETTER_SECONDS * 190 / 150;
}

/* The script whose estimated length is nearest SECONDS: the RANKED picks
 * (all there are, in the greedy order's ranks) are taken best first, one
 * more at a time, until the estimate passes the target. */
static struct script *
writer_fit(struct writer_doc *doc, GPtrArray *ranked, GPtrArray *keywords, GHashTable *wish,
    const struct writer_cast *cast, double seconds, double per_letter)
{
	struct script *best = NULL;
	double best_off = 0;

	for (guint n = 1; n <= MAX(ranked->len, 1u); n++) {
		GPtrArray *take = g_ptr_array_new();
		struct script *s;
		double est, off;

		for (guint i = 0; i < ranked->len; i++) {
			struct sentence *x = g_ptr_array_index(ranked, i);

			if (x->rank < n)
				g_ptr_array_add(take, x);
		}
		s = writer_compose(doc, take, keywords, wish, cast);
		g_ptr_array_unref(take);
		est = writer_builtin_seconds(s, per_letter);
		off = fabs(est - seconds);
		if (best == NULL || off < best_off) {
			script_free(best);
			best = s;
			best_off = off;
		} else {
			script_free(s);
		}
		if (est >= seconds)
			break;
	}
	return best;
}

struct script *
writer_builtin_write(const struct config *cfg, const char *document, const char *requirements,
    const struct listener_options *opts, struct pipeline_error *err)
{
	struct writer_doc doc = { 0 };
	struct script *script = NULL;
	struct writer_cast cast = {
		{ listener_host_name(opts, 0, SCRIPT_DOROTHY), listener_host_name(opts, 1, SCRIPT_WILL) },
		writer_style_find(listener_style(opts)) };
	GHashTable *wish;
	GPtrArray *picked, *keywords;

	writer_doc_build(&doc, document != NULL ? document : "");
	if (doc.sentences->len == 0) {
		pipeline_error_set(err, TRUE, "The document contains no extractable text");
		writer_doc_clear(&doc);
		return NULL;
	}
	wish = writer_wish_terms(&doc, requirements);
	writer_score(&doc, wish);
	/* A length asked for in minutes wins over the wishes' words. */
	picked = writer_pick(&doc, opts != NULL && opts->minutes > 0 ? G_MAXUINT :
	    writer_length_hint(requirements));
	keywords = writer_keywords(&doc, 3);
	if (opts != NULL && opts->minutes > 0)
		script = writer_fit(&doc, picked, keywords, wish, &cast, opts->minutes * 60,
		    writer_letter_seconds(cfg));
	else
		script = writer_compose(&doc, picked, keywords, wish, &cast);

	g_ptr_array_unref(keywords);
	g_ptr_array_unref(picked);
	g_hash_table_unref(wish);
	writer_doc_clear(&doc);
	return script;
}
