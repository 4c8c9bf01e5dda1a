/* SPDX-License-Identifier: MIT */
/*
 * The option parser and --help printer (see util/opt.h).
 */
#include <errno.h>
#include <string.h>

#include "util/opt.h"

/* Help's left column is this wide; longer spellings get a line of their
 * own. */
#define HELP_COL 30
#define HELP_WIDTH 80

/* (s) without its leading dashes (at most two). */
static const char *undash(const char *s)
{
    if (s[0] == '-') {
        s++;
        if (s[0] == '-') {
            s++;
        }
    }
    return s;
}

/* Does one of (o)'s spellings equal (name) (len bytes, no dashes)? */
static bool opt_has_name(const struct opt *o, const char *name, size_t len)
{
    const char *p = o->names;

    while (*p) {
        const char *n = undash(p);
        size_t nlen = strcspn(n, "|");

        if (nlen == len && strncmp(n, name, len) == 0) {
            return true;
        }
        p = n + nlen;
        if (*p == '|') {
            p++;
        }
    }
    return false;
}

static const struct opt *find_opt(const struct opt_cmd *cmd, const char *name,
                                  size_t len)
{
    for (size_t i = 0; i < cmd->nr; i++) {
        if (opt_has_name(&cmd->opts[i], name, len)) {
            return &cmd->opts[i];
        }
    }
    return NULL;
}

/* One option at argv[*i] (which starts with '-'); advances (*i) past its
 * value. */
static int parse_opt(const struct opt_cmd *cmd, int argc, char **argv, int *i,
                     opt_apply_fn fn, void *ctx, char *why, size_t whylen)
{
    const char *arg = argv[*i];
    const char *name = undash(arg);
    const char *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    const struct opt *o = find_opt(cmd, name, len);
    const char *val = NULL;
    char spelled[64];

    if (!o) {
        if ((len == 4 && strncmp(name, "help", 4) == 0) ||
            (len == 1 && name[0] == 'h')) {
            return OPT_HELP;
        }
        snprintf(why, whylen, "%.*s: unknown option (see %s --help)",
                 (int)(len + (size_t)(name - arg)), arg, cmd->name);
        return -EINVAL;
    }
    if (!o->arg) {
        if (eq) {
            snprintf(why, whylen, "%.*s: takes no value",
                     (int)(len + (size_t)(name - arg)), arg);
            return -EINVAL;
        }
    } else if (eq) {
        val = eq + 1;
    } else if (*i + 1 < argc) {
        val = argv[++*i];
    } else {
        snprintf(why, whylen, "%s: missing value (%s)", arg, o->arg);
        return -EINVAL;
    }
    snprintf(spelled, sizeof(spelled), "%.*s",
             (int)(len + (size_t)(name - arg)), arg);
    return fn(ctx, o, spelled, val, why, whylen);
}

int opt_parse(const struct opt_cmd *cmd, int argc, char **argv, opt_apply_fn fn,
              void *ctx, int *rest, char *why, size_t whylen)
{
    int i;

    for (i = 0; i < argc; i++) {
        const char *a = argv[i];
        int ret;

        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (a[0] != '-' || a[1] == '\0') {
            if (cmd->operands) {
                break;
            }
            snprintf(why, whylen,
                     "%s: unexpected argument (options start "
                     "with -)",
                     a[0] ? a : "''");
            return -EINVAL;
        }
        ret = parse_opt(cmd, argc, argv, &i, fn, ctx, why, whylen);
        if (ret != 0) {
            return ret;
        }
    }
    if (rest) {
        *rest = i;
    } else if (i < argc) {
        snprintf(why, whylen, "%s: unexpected argument", argv[i]);
        return -EINVAL;
    }
    return 0;
}

/* "--memory, -m SIZE" for help's left column. */
static void spelling(const struct opt *o, char *buf, size_t len)
{
    size_t n = 0;

    for (const char *p = o->names; *p && n < len; p++) {
        n += (size_t)snprintf(buf + n, len - n, "%s",
                              *p == '|' ? ", " : (char[]){*p, '\0'});
    }
    if (o->arg && n < len) {
        snprintf(buf + n, len - n, " %s", o->arg);
    }
}

/* (text) in lines of at most (width) columns, each after (indent) spaces
 * but the first (which continues the current line). */
static void print_wrapped(FILE *f, const char *text, int indent, int width)
{
    bool first = true;

    while (*text) {
        int len = (int)strlen(text);

        if (len > width) {
            len = width;
            while (len > 0 && text[len] != ' ') {
                len--;
            }
            if (len == 0) {
                len = (int)strcspn(text, " ");
            }
        }
        fprintf(f, "%*s%.*s\n", first ? 0 : indent, "", len, text);
        first = false;
        text += len;
        while (*text == ' ') {
            text++;
        }
    }
}

void opt_print_help(const struct opt_cmd *cmd, FILE *f)
{
    fprintf(f, "usage: %s %s\n", cmd->name, cmd->usage);
    if (cmd->about) {
        fprintf(f, "\n%s\n", cmd->about);
    }
    if (cmd->nr) {
        fputs("\noptions:\n", f);
    }
    for (size_t i = 0; i < cmd->nr; i++) {
        const struct opt *o = &cmd->opts[i];
        char left[128], text[512];

        spelling(o, left, sizeof(left));
        if (strlen(left) + 2 >= HELP_COL) {
            fprintf(f, "  %s\n%*s", left, HELP_COL, "");
        } else {
            fprintf(f, "  %-*s", HELP_COL - 2, left);
        }
        snprintf(text, sizeof(text), "%s%s%s%s", o->help,
                 o->def ? " (default: " : "", o->def ? o->def : "",
                 o->def ? ")" : "");
        print_wrapped(f, text, HELP_COL, HELP_WIDTH - HELP_COL);
    }
    fprintf(f, "  %-*sthis text\n", HELP_COL - 2, "-h, --help");
    if (cmd->more) {
        fprintf(f, "\n%s", cmd->more);
    }
}
