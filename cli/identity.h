/*
 * identity.h - who sends when nobody says (the sendmail mode's default
 * sender, user@host as sendmail(8) and msmtp make it) and the
 * qualification of bare names ("root") with the configured domain.
 */
#ifndef SMTPC_CLI_IDENTITY_H
#define SMTPC_CLI_IDENTITY_H

/**
 * The default sender: the login name (getpwuid(getuid()), else getlogin())
 * at domain, or at this host's fully qualified name (gethostname() and
 * getaddrinfo() AI_CANONNAME; the name itself when it has no canonical name
 * with a dot) when domain is NULL. *out is malloc'd.
 * Returns 0, EX_DATAERR (no usable login or host name, reported) or EX_OSERR.
 */
int cli_default_sender(const char *domain, char **out);

/**
 * The host of the default sender into buf (256 bytes): domain when it is
 * not NULL, else this host's name as cli_default_sender() takes it.
 * Returns 0, or -1 (no usable host name; nothing reported).
 */
int cli_default_host(const char *domain, char *buf);

/**
 * addr ("root", "Bob <root>") without a domain: *out = "root@domain"
 * (malloc'd). *out is NULL when addr needs nothing: domain NULL, the null
 * sender, an address with a domain. Returns 0 or EX_OSERR.
 */
int cli_qualify(const char *addr, const char *domain, char **out);

/** 1 when the envelope address of addr is a bare name ("root", "Bob <bob>"): no domain. */
int cli_is_bare(const char *addr);

/**
 * The bare envelope address of addr, as the library puts it in MAIL or
 * RCPT (smtpc_quoteaddr() without the angle brackets; "" for the null
 * sender). Returns a malloc'd string, or NULL when addr is not exactly one address
 * (the library refuses it) or out of memory.
 */
char *cli_envelope_address(const char *addr);

#endif /* SMTPC_CLI_IDENTITY_H */
