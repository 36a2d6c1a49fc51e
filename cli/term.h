/*
 * term.h - the program's own process: arguments, terminal, standard
 * streams, signals and sleeping. Code the library must never run (signals
 * and the terminal are the process's, not an embedded library's).
 */
#ifndef MODMAP_CLI_TERM_H
#define MODMAP_CLI_TERM_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>


/*
 * On Windows, replaces argc/argv by the wide command line converted to
 * UTF-8 (WTF-8 where it holds unpaired surrogates), so non-ANSI arguments
 * survive; the new vector lives until exit; stderr is made unbuffered.
 * Elsewhere it does nothing.
 */
void term_args(int *argc, char ***argv);
int term_stdout_is_terminal(void);
int term_stderr_is_terminal(void);
/* The width of the terminal standard error is (80 when it cannot tell). */
unsigned term_stderr_columns(void);
/* A clock for pacing: milliseconds from an arbitrary start, never going back. */
uint64_t term_now_ms(void);
/* Is path a terminal (/dev/tty, /dev/stdout on one, CON)? Opens nothing for writing. */
int term_path_is_terminal(const char *path);
/*
 * Writes all of p to standard output (binary mode on Windows) and flushes;
 * -1 with *errnum the errno value on failure.
 */
int term_write_stdout(const void *p, size_t len, int *errnum);
/*
 * Reads what standard input has now, up to cap bytes, waiting only while
 * it has nothing (one read call): so a caller answering line by line can
 * flush before it would wait. *got is 0 only at the end.
 */
int term_stdin_read(void *p, size_t cap, size_t *got, int *errnum);
/*
 * For watch: handler runs on SIGINT and SIGTERM (Windows: Ctrl-C too), and
 * interrupts term_sleep_ms, which sleeps ms milliseconds or until *stop is
 * set, whichever comes first.
 */
void term_on_stop(void (*handler)(int));
/*
 * The temporary file an output is written to (-o) is removed should
 * SIGINT, SIGTERM, SIGHUP or SIGXFSZ end the process meanwhile (the
 * signal's own disposition then runs); the library never touches signals.
 * term_output_* are modmap_output_open, _commit and _abort that arm and
 * disarm that; term_temp_file is the modmap_temp_fn that does it for
 * modmap_attach's output (modmap_attach_options.temp_file).
 */
struct modmap_output;
struct modmap_error;
int term_output_open(const char *path, struct modmap_output **out, struct modmap_error *err);
int term_output_commit(struct modmap_output *o, struct modmap_error *err);
void term_output_abort(struct modmap_output *o);
void term_temp_file(void *user, int dir, const char *name);
void term_sleep_ms(uint64_t ms, const volatile sig_atomic_t *stop);

#endif
