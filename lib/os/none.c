/*
 * os/none.c - the backend of a system modmap cannot read processes on: every
 * call is NULL, so each answers ERR_UNSUPPORTED (snapshot.c). Built with
 * `make OS=none`, it proves that the rest of the library and the command
 * need nothing else from an OS: a port starts as a copy of this file and
 * one Makefile line. Saved snapshots are still read, written and attached.
 */
#include "os/os.h"

const struct os_backend os_backend = {
	.name = "none",
};
