/* SPDX-License-Identifier: MIT */
/*
 * One option parser for every command: a table per command names each
 * option's spellings, its value and its help line with the default, and
 * the same table prints --help. Spellings follow getopt_long_only: every
 * name matches with one dash or two ("-kernel" and "--kernel"), a value
 * follows as the next argument or after '=', "--" ends the options. No
 * abbreviations: a shortened name is unknown rather than a guess. Pure:
 * no I/O beyond the message buffer and the help stream, no exit.
 */
#ifndef UTIL_OPT_H
#define UTIL_OPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct opt {
    /* Spellings as help shows them, '|' between: "--memory|-m". */
    const char *names;
    /* The value's placeholder ("SIZE"); NULL for a flag. */
    const char *arg;
    /* One line of help. */
    const char *help;
    /* Shown as "(default: ...)"; NULL for none. */
    const char *def;
    int id;
    /* What the option applies to, as bits the command defines (vmm run:
     * the guest kinds); 0 where the command has no such thing. */
    unsigned scope;
};

struct opt_cmd {
    /* The command's words ("vmm run"), for help and messages. */
    const char *name;
    /* What follows them in the usage line ("[options]"). */
    const char *usage;
    /* A paragraph under it, or NULL. */
    const char *about;
    const struct opt *opts;
    size_t nr;
    /* Text after the options (exit statuses, examples), or NULL. */
    const char *more;
    /* Arguments that are not options end the options (operands) instead
     * of being refused. */
    bool operands;
};

/*
 * Apply option (o) with value (val) (NULL for a flag), spelled (name) as
 * the user wrote it. Returns 0, or -EINVAL with one line in (why).
 */
typedef int (*opt_apply_fn)(void *ctx, const struct opt *o, const char *name,
                            const char *val, char *why, size_t whylen);

/* opt_parse()'s answer when the arguments ask for --help (or -h). */
#define OPT_HELP 1

/*
 * Parse argv[0..argc) against (cmd), calling (fn) for each option in
 * order. (*rest), when not NULL, gets the index of the first operand
 * (after "--", or the first non-option when cmd->operands), argc when
 * there is none. Returns 0, OPT_HELP, or -EINVAL with one line in (why)
 * that names the argument.
 */
__attribute__((warn_unused_result)) int
opt_parse(const struct opt_cmd *cmd, int argc, char **argv, opt_apply_fn fn,
          void *ctx, int *rest, char *why, size_t whylen);

/* Print (cmd)'s --help to (f). */
void opt_print_help(const struct opt_cmd *cmd, FILE *f);

#endif /* UTIL_OPT_H */
