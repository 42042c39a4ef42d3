# db: see Makefile.am
