# api: see Makefile.am
