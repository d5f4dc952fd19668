/*
 * error.c - error kinds and the per-session last error (docs/ARCHITECTURE.md,
 * "Errors"; docs/RULES.md P16.17: one error type with a kind, the reply that
 * caused it and a one-line message).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"

SMTPC_API const char *smtpc_strerror(int kind)
{
	switch (kind) {
	case SMTPC_OK:
		return "success";
	case SMTPC_EINVAL:
		return "invalid argument";
	case SMTPC_ENOMEM:
		return "out of memory";
	case SMTPC_EIO:
		return "input/output error";
	case SMTPC_ETIMEOUT:
		return "timed out";
	case SMTPC_EPROTO:
		return "protocol error";
	case SMTPC_EDISCONNECTED:
		return "server disconnected";
	case SMTPC_ERESPONSE:
		return "unexpected reply";
	case SMTPC_ESENDER:
		return "sender refused";
	case SMTPC_ERECIPIENTS:
		return "recipients refused";
	case SMTPC_EDATA:
		return "message refused";
	case SMTPC_ECONNECT:
		return "cannot connect";
	case SMTPC_EHELO:
		return "greeting refused";
	case SMTPC_EAUTH:
		return "authentication failed";
	case SMTPC_ENOTSUPPORTED:
		return "not supported by the server";
	case SMTPC_EUNKNOWN:
		return "outcome unknown";
	case SMTPC_ESHUTDOWN:
		return "server closing the connection";
	case SMTPC_ETLS:
		return "TLS error";
	case SMTPC_ERESOLVE:
		return "cannot resolve host name";
	default:
		return "unknown error";
	}
}

SMTPC_API const char *smtpc_error_name(int kind)
{
	switch (kind) {
	case SMTPC_EDISCONNECTED:
		return "SMTPServerDisconnected";
	case SMTPC_ERESPONSE:
		return "SMTPResponseException";
	case SMTPC_ESENDER:
		return "SMTPSenderRefused";
	case SMTPC_ERECIPIENTS:
		return "SMTPRecipientsRefused";
	case SMTPC_EDATA:
		return "SMTPDataError";
	case SMTPC_ECONNECT:
		return "SMTPConnectError";
	case SMTPC_EHELO:
		return "SMTPHeloError";
	case SMTPC_EAUTH:
		return "SMTPAuthenticationError";
	case SMTPC_ENOTSUPPORTED:
		return "SMTPNotSupportedError";
	case SMTPC_EINVAL:
		return "ValueError";
	default:
		return NULL;
	}
}

void smtpc__err_clear(smtpc *s)
{
	free(s->err_text);
	s->err_text = NULL;
	memset(&s->err, 0, sizeof(s->err));
	s->err_command[0] = '\0';
	s->err_message[0] = '\0';
	s->err.command = s->err_command;
	s->err.message = s->err_message;
	s->err.text = "";
}

int smtpc__err_set(smtpc *s, int kind, const char *command, const smtpc_reply *reply,
                   const char *fmt, ...)
{
	va_list ap;

	smtpc__err_clear(s);
	s->err.kind = kind;
	snprintf(s->err_command, sizeof(s->err_command), "%s", command ? command : "");
	va_start(ap, fmt);
	vsnprintf(s->err_message, sizeof(s->err_message), fmt, ap);
	va_end(ap);
	if (reply != NULL && reply->code != 0) {
		s->err.code = reply->code;
		memcpy(s->err.enhanced, reply->enhanced, sizeof(s->err.enhanced));
		s->err_text = malloc(reply->text_len + 1);
		if (s->err_text != NULL) {
			memcpy(s->err_text, reply->text, reply->text_len);
			s->err_text[reply->text_len] = '\0';
			s->err.text = s->err_text;
			s->err.text_len = reply->text_len;
		}
	}
	return kind;
}

void smtpc__err_take(smtpc *s, smtpc__err_saved *e)
{
	e->err = s->err;
	memcpy(e->command, s->err_command, sizeof(e->command));
	memcpy(e->message, s->err_message, sizeof(e->message));
	e->text = s->err_text;
	s->err_text = NULL;
	smtpc__err_clear(s);
}

int smtpc__err_copy(const smtpc *s, smtpc__err_saved *e)
{
	smtpc__err_saved_free(e);
	e->err = s->err;
	memcpy(e->command, s->err_command, sizeof(e->command));
	memcpy(e->message, s->err_message, sizeof(e->message));
	if (s->err_text == NULL)
		return 0;
	e->text = malloc(s->err.text_len + 1);
	if (e->text == NULL) {
		e->err.text_len = 0;
		return SMTPC_ENOMEM;
	}
	memcpy(e->text, s->err_text, s->err.text_len + 1);
	return 0;
}

void smtpc__err_put(smtpc *s, smtpc__err_saved *e)
{
	smtpc__err_clear(s);
	s->err = e->err;
	memcpy(s->err_command, e->command, sizeof(e->command));
	memcpy(s->err_message, e->message, sizeof(e->message));
	s->err.command = s->err_command;
	s->err.message = s->err_message;
	s->err_text = e->text;
	s->err.text = e->text != NULL ? e->text : "";
	e->text = NULL;
	memset(&e->err, 0, sizeof(e->err));
}

void smtpc__err_saved_free(smtpc__err_saved *e)
{
	free(e->text);
	e->text = NULL;
}

int smtpc__err_reword(smtpc *s, int kind, const char *command, const char *fmt, ...)
{
	char msg[sizeof(s->err_message)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap); /* first: the arguments may be the old message */
	va_end(ap);
	memcpy(s->err_message, msg, sizeof(msg));
	snprintf(s->err_command, sizeof(s->err_command), "%s", command ? command : "");
	s->err.kind = kind;
	return kind;
}

int smtpc__err_io(smtpc *s, int kind, const char *command, const char *doing)
{
	int os_error = s->tr.os_error;
	const char *what = s->tr.what ? s->tr.what : "";

	if (kind == SMTPC_ERESOLVE)
		smtpc__err_set(s, kind, command, NULL, "%s: %s", doing, what);
	else if (kind == SMTPC_ETIMEOUT)
		smtpc__err_set(s, kind, command, NULL, "%s: timed out", doing);
	else if (os_error != 0)
		smtpc__err_set(s, kind, command, NULL, "%s: %s", doing, strerror(os_error));
	else if (kind == SMTPC_ETLS && what[0] != '\0')
		smtpc__err_set(s, kind, command, NULL, "%s: TLS error: %s", doing, what);
	else
		smtpc__err_set(s, kind, command, NULL, "%s: %s", doing, smtpc_strerror(kind));
	s->err.os_error = os_error;
	return kind;
}

SMTPC_API const smtpc_error *smtpc_last_error(const smtpc *s)
{
	return &s->err;
}
