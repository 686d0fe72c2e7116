/*
 * rec_type - the record types of a queue file, in one table.
 *
 * A queue file (see doc/queue.md and record.h) is a sequence of typed
 * records in three segments: the envelope (who, from whom, when), the
 * content (the message lines) and the extracted segment (what cleanup
 * found in the headers, and the end). The type letters are Postfix's,
 * so people who know postcat output read postern's; postern adds one
 * type, 'v', the format-version record that opens every file, so a
 * future format change is detected instead of inferred.
 *
 * rec_type_table[] is the single source of truth for each type: its
 * name, the segments it may appear in, the segments in which postdrop
 * may accept it from an untrusted local user, and the largest payload a
 * reader will accept (the reader checks it before allocating anything).
 */
#ifndef POSTERN_REC_TYPE_H
#define POSTERN_REC_TYPE_H

#include <stddef.h>

enum rec_type {
	REC_TYPE_EOF = 0,	/* not a record: rec_get's clean end of input */
	REC_TYPE_VERSION = 'v', /* format version, always the first record */
	REC_TYPE_SIZE = 'C',	/* fixed-width sizes, rewritten at commit */
	REC_TYPE_TIME = 'T',	/* arrival time "sec usec" */
	REC_TYPE_CTIME = 'c',	/* create time */
	REC_TYPE_FULL = 'F',	/* sender full name */
	REC_TYPE_INSP = 'I',	/* inspector transport */
	REC_TYPE_FROM = 'S',	/* envelope sender */
	REC_TYPE_RCPT = 'R',	/* recipient still to deliver */
	REC_TYPE_DONE = 'D',	/* recipient done (an R rewritten in place) */
	REC_TYPE_ORCP = 'O',	/* original recipient of the next R */
	REC_TYPE_DRCP = '/',	/* canceled recipient */
	REC_TYPE_WARN = 'W',	/* next delay-warning time */
	REC_TYPE_ATTR = 'A',	/* named attribute "name=value" */
	REC_TYPE_KILLED = 'K',	/* killed record */
	REC_TYPE_RDR = '>',	/* redirect target */
	REC_TYPE_END = 'E',	/* end of the extracted segment and the file */
	REC_TYPE_MESG = 'M',	/* end of envelope, start of content */
	REC_TYPE_NORM = 'N',	/* a content line, or the last piece of one */
	REC_TYPE_CONT = 'L',	/* a piece of a long line that continues */
	REC_TYPE_DTXT = 'w',	/* padding left by an in-place edit */
	REC_TYPE_XTRA = 'X',	/* end of content, start of extracted */
	REC_TYPE_RRTO = 'r',	/* return-receipt-to, from the headers */
	REC_TYPE_ERTO = 'e',	/* errors-to, from the headers */
	REC_TYPE_PRIO = 'P',	/* priority */
	REC_TYPE_PTR = 'p',  /* pointer: 15-digit offset of the next record */
	REC_TYPE_VERP = 'V', /* VERP delimiters */
	REC_TYPE_DSN_RET = '<',	   /* DSN RET= */
	REC_TYPE_DSN_ENVID = 'i',  /* DSN ENVID= */
	REC_TYPE_DSN_ORCPT = 'o',  /* DSN ORCPT= of the next R */
	REC_TYPE_DSN_NOTIFY = 'n', /* DSN NOTIFY= of the next R (bit mask) */
	REC_TYPE_MILT_COUNT = 'm', /* milter count (IPC only) */
	REC_TYPE_FLGS = 'f',	   /* cleanup processing flags */
	REC_TYPE_DELAY = 'd',	   /* delay on arrival */
};

/* The segments, as bits so a type can be allowed in several. */
enum rec_segment {
	REC_SEG_ENVELOPE = 1 << 0,
	REC_SEG_CONTENT = 1 << 1,
	REC_SEG_EXTRACTED = 1 << 2,
};

/* The payload of the version record for the format this code writes. */
#define REC_VERSION_CURRENT "postern-queue-1"

/* Width of the decimal fields of C, W and p records (Postfix's %15ld),
 * so that rewriting one in place never changes its length. */
#define REC_NUM_WIDTH 15

/* Limits used in the table; writers split content lines at REC_LINE_MAX. */
#define REC_ADDR_MAX 4096	 /* an address: far above RFC 5321's 256 */
#define REC_LINE_MAX 4096	 /* one N or L piece */
#define REC_ATTR_MAX (8192 + 64) /* "name=value" */
#define REC_SHORT_MAX 128	 /* numbers, times, flags */

struct rec_type_info {
	int type;		/* the letter */
	const char *name;	/* for logs and postern-cat */
	unsigned segments;	/* enum rec_segment bits it may appear in */
	unsigned user_segments; /* the part postdrop accepts from users */
	size_t max_len;		/* largest payload a reader accepts */
};

/* One row per type, ended by a row with type REC_TYPE_EOF. */
extern const struct rec_type_info rec_type_table[];

/* The row for type, or NULL if type is not a record type. */
const struct rec_type_info *rec_type_info(int type);
/* Readable name ("recipient"), or "unknown" for a non-type. */
const char *rec_type_name(int type);
/* 1 if type may appear in segment seg (one REC_SEG_* bit), else 0. */
int rec_type_allowed(int type, unsigned seg);
/* 1 if postdrop may accept type from a local user in segment seg. */
int rec_type_user_allowed(int type, unsigned seg);
/* Name of one segment bit ("envelope"). */
const char *rec_segment_name(unsigned seg);

#endif
