# pipeline: see Makefile.am
