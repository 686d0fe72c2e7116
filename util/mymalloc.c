/*
 * mymalloc - checked memory allocation; see mymalloc.h.
 */
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "mymalloc.h"

void *mymalloc(size_t len)
{
	void *p;

	if (len == 0)
		len = 1;
	if ((p = malloc(len)) == NULL)
		msg_fatal("out of memory allocating %zu bytes", len);
	return p;
}

void *mycalloc(size_t nmemb, size_t size)
{
	void *p = mymalloc(mymalloc_mul(nmemb, size));

	memset(p, 0, nmemb * size);
	return p;
}

void *myrealloc(void *ptr, size_t len)
{
	void *p;

	if (len == 0)
		len = 1;
	if ((p = realloc(ptr, len)) == NULL)
		msg_fatal("out of memory reallocating %zu bytes", len);
	return p;
}

void *myreallocarray(void *ptr, size_t nmemb, size_t size)
{
	return myrealloc(ptr, mymalloc_mul(nmemb, size));
}

char *mystrdup(const char *str)
{
	return mymemdup(str, strlen(str));
}

char *mystrndup(const char *str, size_t len)
{
	const char *end = memchr(str, 0, len);

	return mymemdup(str, end ? (size_t) (end - str) : len);
}

void *mymemdup(const void *ptr, size_t len)
{
	char *p = mymalloc(mymalloc_add(len, 1));

	memcpy(p, ptr, len);
	p[len] = 0;
	return p;
}

void myfree_ptr(void **pp)
{
	free(*pp);
	*pp = NULL;
}

size_t mymalloc_add(size_t a, size_t b)
{
	size_t r;

	if (__builtin_add_overflow(a, b, &r))
		msg_panic("size overflow: %zu + %zu", a, b);
	return r;
}

size_t mymalloc_mul(size_t a, size_t b)
{
	size_t r;

	if (__builtin_mul_overflow(a, b, &r))
		msg_panic("size overflow: %zu * %zu", a, b);
	return r;
}
