/*
 * rstream - a small buffered byte stream over a file descriptor.
 *
 * The record layer (global/record.c) reads and writes queue files and
 * record streams a few bytes at a time; rstream turns that into block
 * I/O. One fixed buffer, allocated at open and never grown, serves either
 * reading or writing; switching direction flushes pending output or
 * gives back read-ahead with lseek, so the file offset the caller sees
 * (rstream_tell) is always the logical one. Errors are sticky: after a
 * failed read or write every later operation fails until rstream_close,
 * so a writer that checks only the final flush still cannot miss one.
 *
 * Sockets and pipes work for reading only or writing only (there is no
 * offset to give read-ahead back to).
 */
#ifndef POSTERN_RSTREAM_H
#define POSTERN_RSTREAM_H

#include <stddef.h>
#include <sys/types.h>

#define RSTREAM_BUFSIZE 8192
#define RSTREAM_EOF (-1)

struct rstream;

/* Wrap fd (still owned by the caller until rstream_close) with a buffer of
 * bufsize bytes (0: RSTREAM_BUFSIZE). Never NULL. */
struct rstream *rstream_fdopen(int fd, size_t bufsize);
/* Flush, close the fd and free *sp (set to NULL). 0, or -1 with errno if
 * the flush or close(2) failed (a failed close can lose data on NFS). */
int rstream_close(struct rstream **sp);
/* Free *sp without flushing or closing the fd (after an error, or when
 * the caller keeps the fd). */
void rstream_release(struct rstream **sp);

/* Read up to len bytes; returns the count (short only at end of file), or
 * -1 with errno. */
ssize_t rstream_read(struct rstream *s, void *buf, size_t len);
/* One byte as 0..255, or RSTREAM_EOF at end of file or on error (tell them
 * apart with rstream_error). */
int rstream_getc(struct rstream *s);
/* Buffer len bytes for writing; 0 or -1 with errno. */
int rstream_write(struct rstream *s, const void *buf, size_t len);
int rstream_putc(struct rstream *s, int ch);
/* Write out buffered output. 0 or -1 with errno. */
int rstream_flush(struct rstream *s);
/* Move to absolute offset off (flushes first). 0 or -1 with errno. */
int rstream_seek(struct rstream *s, off_t off);
/* The logical offset: where the next read or write happens. */
off_t rstream_tell(const struct rstream *s);
/* The errno of the first failure, or 0. */
int rstream_error(const struct rstream *s);
int rstream_fd(const struct rstream *s);

#endif
