# pipeline: document -> script -> voices -> MP3 (issue 6). The stages live in
# libpipeline.a so the unit tests link them without the worker; the task
# (jobs/task-podcast-generate.c) joins podcastpro-job, never the master.
PIPELINE_CFLAGS = $(POPPLER_CFLAGS) $(XML_CFLAGS) $(ZIP_CFLAGS) $(ESPEAK_CFLAGS) $(MPG123_CFLAGS) $(LAME_CFLAGS)
PIPELINE_LIBS = libpipeline.a $(POPPLER_LIBS) $(XML_LIBS) $(ZIP_LIBS) $(ESPEAK_LIBS) $(MPG123_LIBS) $(LAME_LIBS) -lm

noinst_LIBRARIES += libpipeline.a
libpipeline_a_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/jobs/pipeline $(PIPELINE_CFLAGS)
libpipeline_a_SOURCES = \
	jobs/pipeline/error.c jobs/pipeline/error.h \
	jobs/pipeline/extract.c jobs/pipeline/extract.h jobs/pipeline/extract-private.h \
	jobs/pipeline/extract-html.c jobs/pipeline/extract-epub.c jobs/pipeline/extract-docx.c \
	jobs/pipeline/extract-zip.c \
	jobs/pipeline/script.c jobs/pipeline/script.h \
	jobs/pipeline/writer.h jobs/pipeline/writers.c jobs/pipeline/writer-prompt.c \
	jobs/pipeline/writer-builtin.c jobs/pipeline/writer-gemini.c jobs/pipeline/writer-openai.c \
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
check_PROGRAMS += tests/unit/test-openai
TESTS += tests/unit/test-openai
tests_unit_test_openai_SOURCES = tests/unit/test-openai.c
tests_unit_test_openai_CPPFLAGS = $(PIPELINE_TEST_CPPFLAGS)
tests_unit_test_openai_LDADD = $(PIPELINE_TEST_LDADD)
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

# The task, in the worker's job program. libpipeline.a comes before the core
# library it uses.
podcastpro_job_SOURCES += jobs/task-podcast-generate.c
podcastpro_job_LDADD += $(PIPELINE_LIBS) $(CORE_LIBS)

# The listener's options (issue 15): the responder checks them, the worker
# reads them back, so the module is in the core library both link.
libpodcastpro_a_SOURCES += jobs/pipeline/listener.c jobs/pipeline/listener.h
dist_migrations_DATA += migrations/0006_listener_options.sql
check_PROGRAMS += tests/unit/test-listener
TESTS += tests/unit/test-listener
tests_unit_test_listener_SOURCES = tests/unit/test-listener.c
tests_unit_test_listener_CPPFLAGS = $(PIPELINE_TEST_CPPFLAGS)
tests_unit_test_listener_LDADD = $(PIPELINE_TEST_LDADD)
