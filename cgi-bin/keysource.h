/* SPDX-License-Identifier: MIT */
/* keysource.h: the verification keys a setting names, read once: PEM
 * text, a PEM file or a JWKS file (auth.c picks the setting) */
#ifndef KEYSOURCE_H
#define KEYSOURCE_H

#include "err.h"
#include "file.h"

struct keyset;

enum keysource_form {
	KEYSOURCE_PEM_TEXT,  /* value is the PEM; a literal "\n" is a newline */
	KEYSOURCE_PEM_FILE,  /* value is the path of a PEM file */
	KEYSOURCE_JWKS_FILE, /* value is the path of a JWKS file */
};

struct keysource {
	enum keysource_form form;
	const char *setting; /* the setting that named it, for the log */
	const char *value;   /* text or path, borrowed for the call */
};

/*
 * The keys src names, as a keyset the caller frees with keys_free; NULL
 * with the reason in e (naming src->setting, never the key text) when
 * they cannot be read or hold no usable key. A file is watched in *watch
 * from before the read on, a missing one too; free it with
 * file_watch_free either way.
 */
struct keyset *keysource_load(
    const struct keysource *src, struct file_watch *watch, struct err *e);

#endif
