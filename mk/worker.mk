# worker: see Makefile.am
