/*
 * flow.h - the numbers that shape what is in flight between the client and
 * the server, in one place, each with its reason. Internal.
 */
#ifndef SMTPC_FLOW_H
#define SMTPC_FLOW_H

/*
 * Bytes of the message read and encoded per write. Big enough that a
 * system call moves a lot (a 100 MiB message is 1,600 writes), small enough
 * that memory stays bounded whatever the message (the encoder's output
 * buffer is about twice this).
 */
#define SMTPC__BODY_CHUNK 65536

/*
 * Commands written before their replies are read, with PIPELINING (RFC 2920
 * 3.1: the client may send a group of commands; the server's buffers are not
 * infinite). 100 recipients' commands are under 40 KB and their replies a few
 * KB: neither side's socket buffer can fill, so neither blocks on the other.
 */
#define SMTPC__MAX_INFLIGHT 100

/* Commands of the next transaction that may ride with the end of a message (one flight). */
#define SMTPC__MAX_TRAILER SMTPC__MAX_INFLIGHT

/*
 * Unanswered BDAT chunks allowed before the client reads their replies
 * (RFC 3030 4.2 lets it pipeline chunks): 64 x 64 KiB = 4 MiB of data in
 * flight keeps a fast link busy (8 chunks left the client sleeping on
 * replies: bench/README.md), and 64 short replies can never fill the
 * server's socket buffer (no deadlock).
 */
#define SMTPC__BDAT_WINDOW 64

/*
 * The read buffer of a connection: replies are read into it and parsed in
 * place. 16 KiB holds the replies to a whole flight of 100 commands; a
 * longer reply is parsed as it arrives (the parser keeps what it needs).
 */
#define SMTPC__RBUF_SIZE 16384

/*
 * The largest TLS record's plaintext (RFC 8446 5.1, RFC 5246 6.2.1): the
 * pieces of one write are gathered into records of this size, and the
 * bytes a write puts on the wire are bounded from it (smtpc__tr_wire_max).
 */
#define SMTPC__TLS_RECORD 16384

#endif
