/*
 * alias_items - the destinations of an alias value, a ~/.forward file or
 * an :include: file, in the syntax of aliases(5): items separated by
 * commas or line ends; double quotes protect commas and spaces (and are
 * removed, as is the backslash of a \" or \\ inside them); a line that
 * starts with '#' is a comment. Items come out trimmed of white space,
 * never empty and never containing a line end, whatever the input.
 */
#ifndef POSTERN_ALIAS_ITEMS_H
#define POSTERN_ALIAS_ITEMS_H

#include <stddef.h>

/* Split value; *count items in a new array of new strings (NULL when 0).
 * Free with alias_items_free. */
char **alias_items_split(const char *value, size_t *count);
/* Free what alias_items_split returned and set *itemsp to NULL. */
void alias_items_free(char ***itemsp, size_t count);

#endif
