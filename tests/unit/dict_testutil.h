/*
 * dict_testutil - helpers shared by the dict unit tests: a private
 * temporary directory per test and small file writers.
 */
#ifndef POSTERN_DICT_TESTUTIL_H
#define POSTERN_DICT_TESTUTIL_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static inline char *tu_mkdtemp(void)
{
	const char *tmp = getenv("TMPDIR");
	char *dir;

	if (asprintf(&dir, "%s/postern-dict-XXXXXX",
		     tmp && *tmp ? tmp : "/tmp") < 0 ||
	    mkdtemp(dir) == NULL)
		abort();
	return dir;
}

static inline void tu_rmdir(char *dir)
{
	DIR *dp = opendir(dir);
	struct dirent *de;
	char *path;

	if (dp == NULL)
		return;
	while ((de = readdir(dp)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (asprintf(&path, "%s/%s", dir, de->d_name) < 0)
			abort();
		unlink(path);
		free(path);
	}
	closedir(dp);
	rmdir(dir);
	free(dir);
}

/* dir/name, malloc'd. */
static inline char *tu_path(const char *dir, const char *name)
{
	char *path;

	if (asprintf(&path, "%s/%s", dir, name) < 0)
		abort();
	return path;
}

static inline void tu_write(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	if (fp == NULL || fputs(text, fp) < 0 || fclose(fp) != 0)
		abort();
}

/* Number of entries in dir whose name starts with prefix. */
static inline int tu_count(const char *dir, const char *prefix)
{
	DIR *dp = opendir(dir);
	struct dirent *de;
	int n = 0;

	while (dp && (de = readdir(dp)) != NULL)
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
			n++;
	if (dp)
		closedir(dp);
	return n;
}

#endif
