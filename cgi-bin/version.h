/* SPDX-License-Identifier: MIT */
/* version.h: --version: the program and the libraries it runs with */
#ifndef VERSION_H
#define VERSION_H

#include <stdio.h>

/*
 * Prints the program version and the versions of the libraries it runs
 * with (as they report themselves); a portable build adds the Debian
 * source package each was built from, so users know when to rebuild.
 */
void version_print(FILE *);

#endif
