/*
 * hostlist.h: Slurm hostlist expressions, expanded and compressed exactly as
 * Slurm 22.05 does it (byte for byte what `scontrol show hostnames` and
 * `scontrol show hostlist` print; tests/oracle/ checks this against the real
 * scontrol).
 *
 *   "hpc-pg0-[1-3],gpu[08-09]"  <->  hpc-pg0-1 hpc-pg0-2 hpc-pg0-3 gpu08 gpu09
 *
 * Slurm's rules that matter to callers:
 * - Names are separated by commas or white space; empty items are skipped.
 * - Neither direction sorts or removes duplicates: the order of the input is
 *   the order of the output.  Compression merges only consecutive names that
 *   differ in their last number (n1,n2,n3,n5,n1 -> n[1-3,5,1]).
 * - Zero padding is per number; in a range the low end's width wins
 *   (n[8-012] is n8..n12, n[08-12] is n08..n12).
 * - Several bracket groups multiply out (r[1-2]-n[1-2] is r1-n1 r1-n2 r2-n1
 *   r2-n2); text after the last closing bracket is refused (n[1-2]-ib).
 * - One range holds at most HOSTLIST_MAX_RANGE names.  We also refuse an
 *   expression that expands to more than HOSTLIST_MAX_NAMES names in total,
 *   before allocating them, and a name with more than HOSTLIST_MAX_GROUPS
 *   bracket groups.
 */
#ifndef CCSLURM_HOSTLIST_H
#define CCSLURM_HOSTLIST_H

#include <stddef.h>

#define HOSTLIST_MAX_RANGE	65536	/* names in one lo-hi range (Slurm's) */
#define HOSTLIST_MAX_NAMES	1000000	/* names in one expansion (ours) */
/*
 * Bracket groups in one name (ours; Slurm has no limit and takes ~30 s on
 * 40,000 "[1]" groups): each group is one level of recursion and one copy
 * of the name, so a 16 MB frame of "[1]"s would exhaust the daemon's stack.
 */
#define HOSTLIST_MAX_GROUPS	64

/*
 * An expanded hostlist: n names, in the order the expression gives them.
 * names is ONE allocation holding the n pointers and the strings they point
 * to (one malloc for a million names, not a million): free it with
 * hostnames_free(), never free() a single name; xstrdup() a name to keep it.
 */
struct hostnames {
	char	**names;	/* n NUL-terminated names */
	size_t	  n;
};

/*
 * Expand a hostlist expression into out (which need not be initialised).
 * On success returns 0 and out owns its names: free with hostnames_free().
 * On error returns -1, sets *cause (allocated, caller frees; may be NULL to
 * ignore) to a one-line reason that names the expression, and leaves out
 * empty ({ NULL, 0 }).  An empty expression is valid and gives n = 0.
 */
int	 hostlist_expand(const char *expr, struct hostnames *out, char **cause);

/* Free the names; hn becomes { NULL, 0 }.  NULL is fine. */
void	 hostnames_free(struct hostnames *);

/*
 * Compress n names into Slurm's ranged form, as `scontrol show hostlist`
 * prints it for those names given in that order.  Each name is taken as one
 * host (brackets in a name are not interpreted).  Returns an allocated
 * string the caller frees ("" for n = 0).  Never fails.
 *
 * Where Slurm misbehaves we do not follow: a name whose trailing number is
 * 2^64-1 or more is kept as it is (Slurm saturates the number and prints
 * another name), and hostlist_expand() refuses such a number in brackets.
 */
char	*hostlist_compress(char *const *names, size_t n);

/*
 * Expand then compress: exactly `scontrol show hostlist EXPR`.
 * Returns 0 and *out (allocated, caller frees), or -1 and *cause as
 * hostlist_expand() does.
 */
int	 hostlist_normalize(const char *expr, char **out, char **cause);

/*
 * Remove duplicate names in place, keeping each name's first occurrence and
 * the order otherwise (hash set, O(n)).  Returns the new count (also stored
 * in hn->n); the storage stays one allocation.
 */
size_t	 hostnames_uniq(struct hostnames *hn);

/*
 * Is name one of hn's names?  A linear scan: for repeated look-ups in a big
 * set, sort a copy and bsearch, or use a hash table.  Returns the index of
 * its first occurrence, or -1.
 */
long	 hostnames_find(const struct hostnames *hn, const char *name);

#endif
