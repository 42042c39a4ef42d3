# pipeline: document -> script -> voices -> MP3 (issue 6). The stages live in
# libpipeline.a so the unit tests link them without the worker; the task
# (jobs/task-podcast-generate.c) joins podcastpro-worker.
PIPELINE_CFLAGS = $(POPPLER_CFLAGS) $(ESPEAK_CFLAGS) $(MPG123_CFLAGS) $(LAME_CFLAGS)
PIPELINE_LIBS = libpipeline.a $(POPPLER_LIBS) $(ESPEAK_LIBS) $(MPG123_LIBS) $(LAME_LIBS) -lm

noinst_LIBRARIES += libpipeline.a
libpipeline_a_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/jobs/pipeline $(PIPELINE_CFLAGS)
libpipeline_a_SOURCES = \
	jobs/pipeline/error.c jobs/pipeline/error.h \
	jobs/pipeline/extract.c jobs/pipeline/extract.h \
	jobs/pipeline/script.c jobs/pipeline/script.h \
	jobs/pipeline/writer.h jobs/pipeline/writers.c \
	jobs/pipeline/writer-builtin.c jobs/pipeline/writer-gemini.c \
	jobs/pipeline/voice.c jobs/pipeline/voice.h jobs/pipeline/voices.c \
	jobs/pipeline/voice-espeak.c jobs/pipeline/voice-elevenlabs.c \
	jobs/pipeline/audio.c jobs/pipeline/audio.h \
	jobs/pipeline/transcript.c jobs/pipeline/transcript.h

PIPELINE_TEST_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/jobs/pipeline $(PIPELINE_CFLAGS) \
	-DPP_TEST_DATA='"$(abs_top_srcdir)/tests/data"'
PIPELINE_TEST_LDADD = $(PIPELINE_LIBS) $(UNIT_LDADD)

check_PROGRAMS += tests/unit/test-extract tests/unit/test-writer tests/unit/test-gemini-parse \
	tests/unit/test-audio tests/unit/test-providers
TESTS += tests/unit/test-extract tests/unit/test-writer tests/unit/test-gemini-parse \
	tests/unit/test-audio tests/unit/test-providers
tests_unit_test_providers_SOURCES = tests/unit/test-providers.c
tests_unit_test_providers_CPPFLAGS = $(PIPELINE_TEST_CPPFLAGS)
tests_unit_test_providers_LDADD = $(PIPELINE_TEST_LDADD)
tests_unit_test_extract_SOURCES = tests/unit/test-extract.c
tests_unit_test_extract_CPPFLAGS = $(PIPELINE_TEST_CPPFLAGS)
tests_unit_test_extract_LDADD = $(PIPELINE_TEST_LDADD)
tests_unit_test_writer_SOURCES = tests/unit/test-writer.c
tests_unit_test_writer_CPPFLAGS = $(PIPELINE_TEST_CPPFLAGS)
tests_unit_test_writer_LDADD = $(PIPELINE_TEST_LDADD)
tests_unit_test_gemini_parse_SOURCES = tests/unit/test-gemini-parse.c
tests_unit_test_gemini_parse_CPPFLAGS = $(PIPELINE_TEST_CPPFLAGS)
tests_unit_test_gemini_parse_LDADD = $(PIPELINE_TEST_LDADD)
tests_unit_test_audio_SOURCES = tests/unit/test-audio.c
tests_unit_test_audio_CPPFLAGS = $(PIPELINE_TEST_CPPFLAGS)
tests_unit_test_audio_LDADD = $(PIPELINE_TEST_LDADD)
check_PROGRAMS += tests/unit/test-transcript
TESTS += tests/unit/test-transcript
tests_unit_test_transcript_SOURCES = tests/unit/test-transcript.c
tests_unit_test_transcript_CPPFLAGS = $(PIPELINE_TEST_CPPFLAGS)
tests_unit_test_transcript_LDADD = $(PIPELINE_TEST_LDADD)

dist_migrations_DATA += migrations/0003_pipeline.sql
dist_migrations_DATA += migrations/0007_transcript.sql
EXTRA_DIST += tests/data doc/pipeline.md doc/sample.pdf

# The task, in the worker. libpipeline.a comes before the core library it uses.
podcastpro_worker_SOURCES += jobs/task-podcast-generate.c
podcastpro_worker_LDADD += $(PIPELINE_LIBS) $(CORE_LIBS)
