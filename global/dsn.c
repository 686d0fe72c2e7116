/*
 * dsn - checks on delivery status fields before they reach a log, a
 * notification or another process.
 */
#include <ctype.h>
#include <string.h>

#include "dsn.h"

/* "c.s.d": class 2, 4 or 5, then 1-3 and 1-3 digits (RFC 3463). */
int dsn_status_ok(const char *status)
{
	const char *cp = status;
	size_t n;

	if (status == NULL || strlen(status) >= DSN_STATUS_MAX)
		return 0;
	if (cp[0] != '2' && cp[0] != '4' && cp[0] != '5')
		return 0;
	if (cp[1] != '.')
		return 0;
	cp += 2;
	for (int part = 0; part < 2; part++) {
		for (n = 0; isdigit((unsigned char)cp[n]); n++)
			;
		if (n < 1 || n > 3)
			return 0;
		cp += n;
		if (part == 0 && *cp++ != '.')
			return 0;
	}
	return *cp == 0;
}

static int dsn_field_ok(const char *field)
{
	return field != NULL && strpbrk(field, "\r\n") == NULL;
}

int dsn_ok(const struct dsn *dsn)
{
	return dsn_status_ok(dsn->status) && dsn_field_ok(dsn->action) &&
	       dsn_field_ok(dsn->reason) && dsn_field_ok(dsn->dtype) &&
	       dsn_field_ok(dsn->dtext) && dsn_field_ok(dsn->mtype) &&
	       dsn_field_ok(dsn->mname);
}
