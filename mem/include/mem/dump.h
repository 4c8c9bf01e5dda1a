/* SPDX-License-Identifier: MIT */
/*
 * Human- and machine-readable dumps of the region tree and of FlatViews,
 * in the spirit of QEMU's "info mtree" and "info mtree -f".
 */
#ifndef MEM_DUMP_H
#define MEM_DUMP_H

#include <stdio.h>

struct address_space;

/*
 * Print the tree of (as): one line per region, indented by depth:
 * "start-end (prio P, kind): name", aliases followed by
 * " @target offset-end". Disabled regions are marked [disabled].
 */
void mem_dump_mtree(FILE *f, struct address_space *as);

/* Print the current FlatView of (as): "start-end (kind[, ro][, log]): name". */
void mem_dump_flatview(FILE *f, struct address_space *as);

/*
 * The same as JSON: {"address_space":…, "tree": {…}} with nested
 * "subregions" arrays, and {"address_space":…, "ranges":[…]}.
 */
void mem_dump_mtree_json(FILE *f, struct address_space *as);
void mem_dump_flatview_json(FILE *f, struct address_space *as);

#endif /* MEM_DUMP_H */
