/*
 * mymalloc - checked memory allocation.
 *
 * The allocators never return NULL: running out of memory is an
 * environment failure, logged with msg_fatal, and costs one process that
 * master restarts. Every size computed from two numbers goes through
 * mymalloc_mul()/mymalloc_add(), which panic on overflow instead of
 * wrapping into a short allocation (the class of bug behind qmail's and
 * Exim's 32-bit size vulnerabilities).
 */
#ifndef POSTERN_MYMALLOC_H
#define POSTERN_MYMALLOC_H

#include <stddef.h>

/* Allocate len bytes (len > 0). Never NULL. */
void *mymalloc(size_t len);
/* Allocate nmemb * size zeroed bytes, checking the product. Never NULL. */
void *mycalloc(size_t nmemb, size_t size);
/* Resize; ptr may be NULL. Never NULL. */
void *myrealloc(void *ptr, size_t len);
/* Resize to nmemb * size bytes, checking the product. */
void *myreallocarray(void *ptr, size_t nmemb, size_t size);
/* Copy a string; the copy is the caller's to free. */
char *mystrdup(const char *str);
/* Copy at most len bytes of str and terminate the copy. */
char *mystrndup(const char *str, size_t len);
/* Copy len bytes that may contain NULs; a NUL is appended. */
void *mymemdup(const void *ptr, size_t len);
/* Free *pp and set it to NULL; *pp may be NULL. */
void myfree_ptr(void **pp);
#define myfree(p) myfree_ptr((void **) &(p))

/* a + b and a * b, or msg_panic on overflow. */
size_t mymalloc_add(size_t a, size_t b);
size_t mymalloc_mul(size_t a, size_t b);

#endif
