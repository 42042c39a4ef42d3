# ratelimit: see Makefile.am
