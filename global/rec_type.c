/*
 * rec_type - the record type table; see rec_type.h.
 *
 * The segment sets are Postfix's (envelope "MCTcFILSDRO/WVA>K<ion",
 * content "XLNw", extracted "EDRO/PreAFIL>Kon") plus postern's 'v' in
 * the envelope, and 'p' everywhere because pointer records may sit at
 * the end of any segment ('L' in the envelope and the extracted segment
 * is Postfix's old loop filter, kept so its lists stay recognizable).
 * A segment's terminator (M, X, E) counts as
 * part of the segment it ends. The user sets are postdrop's trust
 * boundary ("MCFSRVAin", "XLN", "EAR"): everything else a local user
 * could write (pointers, done marks, inspector transports, the version
 * record) is written by postern itself or not at all.
 */
#include "rec_type.h"

#define ENV REC_SEG_ENVELOPE
#define CON REC_SEG_CONTENT
#define EXT REC_SEG_EXTRACTED

const struct rec_type_info rec_type_table[] = {
    {REC_TYPE_VERSION, "version", ENV, 0, REC_SHORT_MAX},
    {REC_TYPE_SIZE, "size", ENV, ENV, REC_SHORT_MAX},
    {REC_TYPE_TIME, "arrival_time", ENV, 0, REC_SHORT_MAX},
    {REC_TYPE_CTIME, "create_time", ENV, 0, REC_SHORT_MAX},
    {REC_TYPE_FULL, "full_name", ENV | EXT, ENV, REC_ADDR_MAX},
    {REC_TYPE_INSP, "inspector", ENV | EXT, 0, REC_ADDR_MAX},
    {REC_TYPE_FROM, "sender", ENV, ENV, REC_ADDR_MAX},
    {REC_TYPE_RCPT, "recipient", ENV | EXT, ENV | EXT, REC_ADDR_MAX},
    {REC_TYPE_DONE, "done_recipient", ENV | EXT, 0, REC_ADDR_MAX},
    {REC_TYPE_ORCP, "original_recipient", ENV | EXT, 0, REC_ADDR_MAX},
    {REC_TYPE_DRCP, "canceled_recipient", ENV | EXT, 0, REC_ADDR_MAX},
    {REC_TYPE_WARN, "warning_time", ENV, 0, REC_SHORT_MAX},
    {REC_TYPE_ATTR, "named_attribute", ENV | EXT, ENV | EXT, REC_ATTR_MAX},
    {REC_TYPE_KILLED, "killed", ENV | EXT, 0, REC_ADDR_MAX},
    {REC_TYPE_RDR, "redirect", ENV | EXT, 0, REC_ADDR_MAX},
    {REC_TYPE_END, "end", EXT, EXT, 0},
    {REC_TYPE_MESG, "content", ENV, ENV, 0},
    {REC_TYPE_NORM, "line", CON, CON, REC_LINE_MAX},
    {REC_TYPE_CONT, "line_piece", ENV | CON | EXT, CON, REC_LINE_MAX},
    {REC_TYPE_DTXT, "padding", CON, 0, REC_LINE_MAX},
    {REC_TYPE_XTRA, "extracted", CON, CON, 0},
    {REC_TYPE_RRTO, "return_receipt", EXT, 0, REC_ADDR_MAX},
    {REC_TYPE_ERTO, "errors_to", EXT, 0, REC_ADDR_MAX},
    {REC_TYPE_PRIO, "priority", EXT, 0, REC_SHORT_MAX},
    {REC_TYPE_PTR, "pointer", ENV | CON | EXT, 0, REC_NUM_WIDTH},
    {REC_TYPE_VERP, "verp_delimiters", ENV, ENV, REC_SHORT_MAX},
    {REC_TYPE_DSN_RET, "dsn_ret", ENV, 0, REC_SHORT_MAX},
    {REC_TYPE_DSN_ENVID, "dsn_envid", ENV, ENV, REC_ADDR_MAX},
    {REC_TYPE_DSN_ORCPT, "dsn_orig_rcpt", ENV | EXT, 0, REC_ADDR_MAX},
    {REC_TYPE_DSN_NOTIFY, "dsn_notify", ENV | EXT, ENV, REC_SHORT_MAX},
    {REC_TYPE_MILT_COUNT, "milter_count", 0, 0, REC_SHORT_MAX},
    {REC_TYPE_FLGS, "cleanup_flags", 0, 0, REC_SHORT_MAX},
    {REC_TYPE_DELAY, "delay", 0, 0, REC_SHORT_MAX},
    {REC_TYPE_EOF, 0, 0, 0, 0},
};

/* Index by byte value, built on first use; 0 means "not a type". */
static unsigned char rec_type_index[256];
static int rec_type_index_ready;

const struct rec_type_info *rec_type_info(int type)
{
	size_t i;

	if (type <= 0 || type > 255)
		return 0;
	if (!rec_type_index_ready) {
		for (i = 0; rec_type_table[i].type != REC_TYPE_EOF; i++)
			rec_type_index[rec_type_table[i].type] =
			    (unsigned char)(i + 1);
		rec_type_index_ready = 1;
	}
	if (rec_type_index[type] == 0)
		return 0;
	return &rec_type_table[rec_type_index[type] - 1];
}

const char *rec_type_name(int type)
{
	const struct rec_type_info *info = rec_type_info(type);

	return info ? info->name : "unknown";
}

int rec_type_allowed(int type, unsigned seg)
{
	const struct rec_type_info *info = rec_type_info(type);

	return info != 0 && (info->segments & seg) != 0;
}

int rec_type_user_allowed(int type, unsigned seg)
{
	const struct rec_type_info *info = rec_type_info(type);

	return info != 0 && (info->user_segments & seg) != 0;
}

const char *rec_segment_name(unsigned seg)
{
	switch (seg) {
	case REC_SEG_ENVELOPE:
		return "envelope";
	case REC_SEG_CONTENT:
		return "content";
	case REC_SEG_EXTRACTED:
		return "extracted";
	default:
		return "unknown";
	}
}
