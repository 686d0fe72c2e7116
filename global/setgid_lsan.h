/*
 * setgid_lsan - included once by each set-gid program (postdrop,
 * postern-queue), in sanitizer builds only.
 *
 * LeakSanitizer cannot work in a set-gid process (it stops with a fatal
 * error at exit, and cannot read ASAN_OPTIONS from /proc/self/environ
 * there): it is turned off when the kernel says AT_SECURE and left on
 * otherwise, so the tests still leak-check the program run plainly.
 */
#ifndef POSTERN_SETGID_LSAN_H
#define POSTERN_SETGID_LSAN_H

#ifdef __SANITIZE_ADDRESS__
#include <sys/auxv.h>

const char *__lsan_default_options(void);
const char *__lsan_default_options(void)
{
	return getauxval(AT_SECURE) ? "detect_leaks=0" : "";
}
#endif

#endif
