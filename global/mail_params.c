/*
 * mail_params - the parameter variables and the parameter table.
 *
 * Both are generated from mail_params.def, so a variable, its table row,
 * its default and its documentation cannot drift apart. The table is in
 * the .def file's order, which must be alphabetical: mail_param_find()
 * relies on it for its binary search, and a unit test checks it.
 *
 * The variables start out zero/NULL; mail_conf_read() gives every one
 * its value, and owns the strings.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "mail_params.h"
#include "mymalloc.h"
#include "strbuf.h"

#define PARAM_STR(n, d, doc) char *var_##n;
#define PARAM_RAW(n, d, doc) char *var_##n;
#define PARAM_INT(n, d, doc) int var_##n;
#define PARAM_LONG(n, d, doc) long var_##n;
#define PARAM_BOOL(n, d, doc) int var_##n;
#define PARAM_TIME(n, d, doc) int var_##n;
#include "mail_params.def"
#undef PARAM_STR
#undef PARAM_RAW
#undef PARAM_INT
#undef PARAM_LONG
#undef PARAM_BOOL
#undef PARAM_TIME

#define PARAM_ROW(n, t, d, doc) {#n, t, d, doc, &var_##n},
#define PARAM_STR(n, d, doc) PARAM_ROW(n, PT_STR, d, doc)
#define PARAM_RAW(n, d, doc) PARAM_ROW(n, PT_RAW, d, doc)
#define PARAM_INT(n, d, doc) PARAM_ROW(n, PT_INT, d, doc)
#define PARAM_LONG(n, d, doc) PARAM_ROW(n, PT_LONG, d, doc)
#define PARAM_BOOL(n, d, doc) PARAM_ROW(n, PT_BOOL, d, doc)
#define PARAM_TIME(n, d, doc) PARAM_ROW(n, PT_TIME, d, doc)
const struct param_info mail_param_table[] = {
#include "mail_params.def"
};
#undef PARAM_STR
#undef PARAM_RAW
#undef PARAM_INT
#undef PARAM_LONG
#undef PARAM_BOOL
#undef PARAM_TIME
#undef PARAM_ROW

const size_t mail_param_count =
    sizeof(mail_param_table) / sizeof(mail_param_table[0]);

/*
 * Postfix parameters that postern means to support (REFERENCE.md section
 * 3 and the milter table of section 2.1), plus the names those defaults
 * refer to (virtual_maps, multi_instance_name), the stress flag that
 * master passes with -o, and the path parameters of Postfix's stock
 * main.cf. An admin's existing main.cf sets many of these; they warn
 * "not supported yet" rather than "unknown". When a parameter is
 * implemented it moves from here into mail_params.def.
 * Sorted (strcmp order), no duplicates, none in the table: a test checks.
 */
const char *const mail_param_reserved[] = {
    "anvil_rate_time_unit",
    "biff",
    "content_filter",
    "daemon_timeout",
    "data_directory",
    "default_cache_db_type",
    "default_delivery_slot_cost",
    "default_delivery_slot_discount",
    "default_delivery_slot_loan",
    "default_minimum_delivery_slots",
    "defer_transports",
    "enable_long_queue_ids",
    "html_directory",
    "in_flow_delay",
    "mailq_path",
    "manpage_directory",
    "masquerade_domains",
    "meta_directory",
    "milter_command_timeout",
    "milter_connect_macros",
    "milter_connect_timeout",
    "milter_content_timeout",
    "milter_data_macros",
    "milter_default_action",
    "milter_end_of_data_macros",
    "milter_end_of_header_macros",
    "milter_header_checks",
    "milter_helo_macros",
    "milter_macro_daemon_name",
    "milter_macro_defaults",
    "milter_macro_v",
    "milter_mail_macros",
    "milter_protocol",
    "milter_rcpt_macros",
    "milter_unknown_command_macros",
    "multi_instance_name",
    "newaliases_path",
    "non_smtpd_milters",
    "proxy_interfaces",
    "readme_directory",
    "receive_override_options",
    "relocated_maps",
    "sample_directory",
    "sender_dependent_relayhost_maps",
    "sendmail_path",
    "shlib_directory",
    "smtp_sasl_auth_enable",
    "smtp_sasl_password_maps",
    "smtp_sasl_security_options",
    "smtp_tls_CAfile",
    "smtp_tls_CApath",
    "smtp_tls_connection_reuse",
    "smtp_tls_loglevel",
    "smtp_tls_mandatory_protocols",
    "smtp_tls_note_starttls_offer",
    "smtp_tls_policy_maps",
    "smtp_tls_protocols",
    "smtp_tls_security_level",
    "smtp_tls_session_cache_database",
    "smtpd_client_connection_count_limit",
    "smtpd_client_connection_rate_limit",
    "smtpd_client_message_rate_limit",
    "smtpd_discard_ehlo_keywords",
    "smtpd_etrn_restrictions",
    "smtpd_milter_maps",
    "smtpd_milters",
    "smtpd_policy_service_timeout",
    "smtpd_proxy_filter",
    "smtpd_sasl_auth_enable",
    "smtpd_sasl_authenticated_header",
    "smtpd_sasl_local_domain",
    "smtpd_sasl_path",
    "smtpd_sasl_security_options",
    "smtpd_sasl_tls_security_options",
    "smtpd_sasl_type",
    "smtpd_sender_login_maps",
    "smtpd_tls_auth_only",
    "smtpd_tls_cert_file",
    "smtpd_tls_chain_files",
    "smtpd_tls_ciphers",
    "smtpd_tls_key_file",
    "smtpd_tls_loglevel",
    "smtpd_tls_mandatory_ciphers",
    "smtpd_tls_mandatory_protocols",
    "smtpd_tls_protocols",
    "smtpd_tls_received_header",
    "smtpd_tls_security_level",
    "smtpd_tls_session_cache_database",
    "smtpd_tls_wrappermode",
    "soft_bounce",
    "stress",
    "unknown_address_reject_code",
    "virtual_maps",

};

const size_t mail_param_reserved_count =
    sizeof(mail_param_reserved) / sizeof(mail_param_reserved[0]);

static int param_cmp(const void *key, const void *row)
{
	return strcmp((const char *)key,
		      ((const struct param_info *)row)->name);
}

const struct param_info *mail_param_find(const char *name)
{
	return bsearch(name, mail_param_table, mail_param_count,
		       sizeof(mail_param_table[0]), param_cmp);
}

static int reserved_cmp(const void *key, const void *elem)
{
	return strcmp((const char *)key, *(const char *const *)elem);
}

int mail_param_is_reserved(const char *name)
{
	return bsearch(name, mail_param_reserved, mail_param_reserved_count,
		       sizeof(mail_param_reserved[0]), reserved_cmp) != NULL;
}

const char *mail_param_type_name(enum param_type type)
{
	switch (type) {
	case PT_STR:
	case PT_RAW:
		return "string";
	case PT_INT:
	case PT_LONG:
		return "integer";
	case PT_BOOL:
		return "boolean";
	case PT_TIME:
		return "time";
	}
	return "unknown";
}

int mail_param_readonly(const struct param_info *param)
{
	/* Like Postfix: the version describes the program, not the site. */
	return strcmp(param->name, "mail_version") == 0;
}

/* Append text to a roff line so that it prints literally. */
static int manpage_escape(struct strbuf *out, const char *text)
{
	for (const char *cp = text; *cp; cp++) {
		int rc;

		if (*cp == '\\')
			rc = strbuf_puts(out, "\\e");
		else if (*cp == '-')
			rc = strbuf_puts(out, "\\-");
		else if ((*cp == '.' || *cp == '\'') && cp == text)
			rc = strbuf_puts(out, cp[0] == '.' ? "\\&." : "\\&'");
		else
			rc = strbuf_putc(out, *cp);
		if (rc < 0)
			return -1;
	}
	return 0;
}

static int manpage_entry(struct strbuf *out, const struct param_info *p)
{
	if (strbuf_printf(out, ".TP\n.B %s\n(%s; default: ", p->name,
			  mail_param_type_name(p->type)) < 0)
		return -1;
	if (p->def == PARAM_COMPUTED) {
		if (strbuf_puts(out, "computed at run time, see below") < 0)
			return -1;
	} else if (*p->def == 0) {
		if (strbuf_puts(out, "empty") < 0)
			return -1;
	} else if (strbuf_puts(out, "\\fI") < 0 ||
		   manpage_escape(out, p->def) < 0 ||
		   strbuf_puts(out, "\\fR") < 0) {
		return -1;
	}
	if (strbuf_puts(out, mail_param_readonly(p) ? "; read\\-only)\n"
						    : ")\n") < 0)
		return -1;
	return strbuf_printf(out, ".br\n%s\n", p->doc);
}

int mail_param_manpage(const char *template_text, struct strbuf *out,
		       char **errp)
{
	static const char marker[] = ".\\\" @PARAMETERS@";
	const char *cp = template_text;
	int found = 0;

	while (*cp) {
		const char *nl = strchr(cp, '\n');
		size_t len = nl ? (size_t)(nl - cp) : strlen(cp);

		if (len == sizeof(marker) - 1 && memcmp(cp, marker, len) == 0) {
			found = 1;
			for (size_t i = 0; i < mail_param_count; i++)
				if (manpage_entry(out, mail_param_table + i) <
				    0)
					goto too_big;
		} else if (strbuf_append(out, cp, len) < 0 ||
			   strbuf_putc(out, '\n') < 0) {
			goto too_big;
		}
		cp += len + (nl ? 1 : 0);
	}
	if (!found) {
		*errp = mystrdup("template has no line \".\\\" @PARAMETERS@\"");
		return -1;
	}
	return 0;

too_big:
	*errp = mystrdup("man page would be too large");
	return -1;
}
