/*
 * dict_mem - tables held in memory: texthash:, inline:, static:, and the
 * plain in-memory table that other types build on (cdb: collects its
 * entries in one before it writes the file).
 *
 * texthash:PATH reads the text file PATH (dict_text format) when opened;
 * there is no build step, and a missing or malformed file fails the open.
 * inline:{ k=v, { k = v with spaces } } lists entries in the name itself.
 * static:VALUE (or static:{ value with spaces }) answers VALUE for any key.
 */
#ifndef POSTERN_DICT_MEM_H
#define POSTERN_DICT_MEM_H

struct dict;
struct strbuf;

struct dict *dict_texthash_open(const char *name, int flags,
				struct strbuf *why);
struct dict *dict_inline_open(const char *name, int flags, struct strbuf *why);
struct dict *dict_static_open(const char *name, int flags, struct strbuf *why);

/* An empty writable in-memory table reported as type:name; entries keep
 * insertion order for dict_sequence. */
struct dict *dict_mem_new(const char *type, const char *name, int flags);
/* Load the entries of a dict_text file into an in-memory table: keys are
 * folded when the table folds keys; a duplicate key warns with file:line
 * and the first value stays, unless the table has DICT_DUP_REPLACE.
 * 0, or -1 with why set. */
int dict_mem_load_text(struct dict *dict, const char *path, int text_flags,
		       struct strbuf *why);

#endif
