/*
 * hostlist.c: Slurm hostlists, see hostlist.h.
 *
 * The model is Slurm's own, because being byte-exact means reproducing its
 * quirks, not a cleaner grammar: an expression is parsed into a list of
 * "ranges" (prefix, lo, hi, zero-pad width, or a single name without a
 * number), and a range pushed onto the list merges into the previous one
 * when its numbers continue it.  Expanding prints every range's numbers;
 * compressing prints consecutive ranges of one prefix in one bracket.  So
 * n5[1-2] stays n5[1-2] (the prefix is "n5"), while the names n51,n52
 * compress to n[51-52]: the prefix of a plain name ends before its
 * trailing digits.
 *
 * Written from Slurm's documented and observed behaviour (tests/oracle/
 * checks us against scontrol 22.05.8); no Slurm code is used.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hostlist.h"
#include "log.h"
#include "xmalloc.h"

#define HL_SEPS		"\t, "	/* what separates names (Slurm's set) */
#define HL_MAX_ITEMS	65536	/* comma items in one bracket (Slurm's) */
#define HL_MAX_BYTES	(128u * 1024 * 1024)	/* expanded text, ours */

/* One range: prefix followed by the numbers lo..hi, or a single name. */
struct hrange {
	char		*prefix;
	size_t		 plen;
	unsigned long	 lo, hi;
	int		 width;		/* zero-pad to this many digits */
	int		 single;	/* a name without a number: prefix */
};

struct hlist {
	struct hrange	*r;
	size_t		 n, cap;
	uint64_t	 nhosts;
};

/* A bracket item: lo..hi printed with width digits at least. */
struct hl_item {
	unsigned long	 lo, hi;
	int		 width;
};

static void
hlist_free(struct hlist *hl)
{
	size_t i;

	for (i = 0; i < hl->n; i++)
		free(hl->r[i].prefix);
	free(hl->r);
	hl->r = NULL;
	hl->n = hl->cap = 0;
	hl->nhosts = 0;
}

/*
 * Slurm compares prefixes with strnatcmp(), for which white space does not
 * count and runs of digits compare as numbers: "a\rb" and "ab" are the same
 * prefix to it.  Only equality matters here.
 */
static int
nat_equal(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t i = 0, j = 0;
	unsigned char ca, cb;

	if (alen == blen && memcmp(a, b, alen) == 0)
		return 1;
	for (;;) {
		while (i < alen && isspace((unsigned char)a[i]))
			i++;
		while (j < blen && isspace((unsigned char)b[j]))
			j++;
		ca = i < alen ? (unsigned char)a[i] : 0;
		cb = j < blen ? (unsigned char)b[j] : 0;
		if (isdigit(ca) && isdigit(cb)) {
			/* Equal digit runs only: same digits, same length. */
			size_t k = 0;

			for (;;) {
				int da = i + k < alen &&
				    isdigit((unsigned char)a[i + k]);
				int db = j + k < blen &&
				    isdigit((unsigned char)b[j + k]);

				if (!da && !db)
					break;
				if (da != db || a[i + k] != b[j + k])
					return 0;
				k++;
			}
		}
		if (ca == 0 && cb == 0)
			return 1;
		if (ca != cb)
			return 0;
		i++;
		j++;
	}
}

static int
ndigits(unsigned long v)
{
	int n = 1;

	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n;
}

/* Zeros needed to pad num to width (Slurm's rule, used for merging). */
static int
zero_pad(unsigned long num, int width)
{
	int n = ndigits(num);

	return width > n ? width - n : 0;
}

/*
 * May numbers n (width *wn) and m (width *wm) share one width?  Yes when
 * the widths are equal, or when one of them can take the other's width
 * without changing how its own number prints; that width is then adopted
 * by both (so a merge can change a width, as in Slurm).
 */
static int
width_equiv(unsigned long n, int *wn, unsigned long m, int *wm)
{
	int npad, nmpad, mpad, mnpad;

	if (*wn == *wm)
		return 1;
	npad = zero_pad(n, *wn);
	nmpad = zero_pad(n, *wm);
	mpad = zero_pad(m, *wm);
	mnpad = zero_pad(m, *wn);
	if (npad != nmpad && mpad != mnpad)
		return 0;
	if (npad != nmpad)
		*wm = *wn;
	else
		*wn = *wm;
	return 1;
}

/*
 * Append a range, merging it into the last one when it continues it:
 * same prefix, lo just after the last hi, compatible widths.  Counts
 * names and fails (-1) above HOSTLIST_MAX_NAMES, before growing further.
 */
static int
hlist_push(struct hlist *hl, const char *prefix, size_t plen,
    unsigned long lo, unsigned long hi, int width, int single)
{
	struct hrange *t;
	uint64_t count = single ? 1 : (uint64_t)(hi - lo) + 1;

	if (hl->nhosts + count > HOSTLIST_MAX_NAMES)
		return -1;
	hl->nhosts += count;
	if (hl->n > 0) {
		t = &hl->r[hl->n - 1];
		if (!single && !t->single && t->hi + 1 == lo &&
		    nat_equal(t->prefix, t->plen, prefix, plen) &&
		    width_equiv(t->lo, &t->width, lo, &width)) {
			t->hi = hi;
			return 0;
		}
	}
	if (hl->n == hl->cap) {
		hl->cap = hl->cap ? hl->cap * 2 : 16;
		hl->r = xreallocarray(hl->r, hl->cap, sizeof(*hl->r));
	}
	t = &hl->r[hl->n++];
	t->prefix = xstrndup(prefix, plen);
	t->plen = plen;
	t->lo = lo;
	t->hi = hi;
	t->width = width;
	t->single = single;
	return 0;
}

/*
 * Push one plain name: its prefix ends before its trailing digits, which
 * are its number.  A name without trailing digits, or whose number does not
 * fit below ULONG_MAX, is a single name.
 */
static int
hlist_push_name(struct hlist *hl, const char *name, size_t len)
{
	size_t i = len, k;
	unsigned long v = 0;

	while (i > 0 && name[i - 1] >= '0' && name[i - 1] <= '9')
		i--;
	if (i == len)
		return hlist_push(hl, name, len, 0, 0, 0, 1);
	for (k = i; k < len; k++) {
		unsigned d = (unsigned)(name[k] - '0');

		if (v > (ULONG_MAX - 1 - d) / 10)
			return hlist_push(hl, name, len, 0, 0, 0, 1);
		v = v * 10 + d;
	}
	return hlist_push(hl, name, i, v, v, (int)(len - i), 0);
}

/* Write v zero-padded to width into p; returns the end. */
static char *
put_num(char *p, unsigned long v, int width)
{
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (width-- > n)
		*p++ = '0';
	while (n > 0)
		*p++ = tmp[--n];
	return p;
}

/*
 * One bracket item: "N", "N-M", "N-" (M = N).  Like Slurm: the width is
 * the length of the text before the dash, the numbers are strtoul()'s (so
 * leading blanks and '+' pass and widen), no 'x' (Slurm's box syntax), no
 * "--", lo <= hi, and at most HOSTLIST_MAX_RANGE names.  Ours: a number of
 * 2^64-1 or more is refused (Slurm saturates and misprints it).
 */
static int
parse_item(char *s, struct hl_item *it, char **why)
{
	char *dash = NULL, *end;
	const char *orig = s;
	int range_err = 0;

	if (strchr(s, 'x') != NULL)
		goto bad;
	if ((dash = strchr(s, '-')) != NULL) {
		*dash++ = '\0';
		if (*dash == '-')
			goto bad;
	}
	it->width = (int)strlen(s);
	errno = 0;
	it->lo = strtoul(s, &end, 10);
	if (end == s)
		goto bad;
	if (errno == ERANGE || it->lo == ULONG_MAX)
		range_err = 1;
	if (dash != NULL && *dash != '\0') {
		char *hs = dash;

		errno = 0;
		it->hi = strtoul(hs, &end, 10);
		if (end == hs)
			goto bad;
		if (errno == ERANGE || it->hi == ULONG_MAX)
			range_err = 1;
	} else
		it->hi = it->lo;
	if (*end != '\0')
		goto bad;
	if (range_err) {
		*why = xprintf("number too large in \"%s\"", log_esc(orig));
		return -1;
	}
	if (it->lo > it->hi)
		goto bad;
	if (it->hi - it->lo >= HOSTLIST_MAX_RANGE) {
		*why = xprintf("more than %d names in range \"%s\"",
		    HOSTLIST_MAX_RANGE, log_esc(orig));
		return -1;
	}
	return 0;
bad:
	if (dash != NULL)
		dash[-1] = '-';		/* show the item as it was given */
	*why = xprintf("invalid range \"%s\"", log_esc(orig));
	return -1;
}

/* Parse "1-3,5,07" (modified in place) into *items (grown as needed). */
static int
parse_items(char *s, struct hl_item **items, size_t *cap, size_t *n,
    char **why)
{
	char *comma;

	*n = 0;
	for (;;) {
		if (*n == HL_MAX_ITEMS) {
			*why = xprintf("more than %d items in one bracket",
			    HL_MAX_ITEMS);
			return -1;
		}
		if ((comma = strchr(s, ',')) != NULL)
			*comma = '\0';
		if (*n == *cap) {
			*cap = *cap ? *cap * 2 : 8;
			*items = xreallocarray(*items, *cap, sizeof(**items));
		}
		if (parse_item(s, &(*items)[*n], why) == -1)
			return -1;
		(*n)++;
		if (comma == NULL)
			return 0;
		s = comma + 1;
	}
}

static int
too_many(char **why)
{
	*why = xprintf("more than %d names", HOSTLIST_MAX_NAMES);
	return -1;
}

/*
 * Push items with prefix, where the prefix may itself hold bracket groups
 * ("r[1-2]-n" for "r[1-2]-n[1-3]"): the last group of the prefix is
 * expanded, and each resulting prefix handled the same way, so groups
 * multiply out left to right.  prefix is modified.
 */
static int
push_items(struct hlist *hl, char *prefix, const struct hl_item *items,
    size_t n, int depth, char **why)
{
	struct hl_item *pre = NULL;
	size_t npre = 0, cappre = 0, i, k;
	char *open, *close, *np, *tail;
	size_t headlen, taillen;
	unsigned long j;
	int rc = 0;

	open = strrchr(prefix, '[');
	close = open != NULL ? strrchr(open, ']') : NULL;
	if (open == NULL || close == NULL) {
		for (k = 0; k < n; k++) {
			if (hlist_push(hl, prefix, strlen(prefix), items[k].lo,
			    items[k].hi, items[k].width, 0) == -1)
				return too_many(why);
		}
		return 0;
	}
	/* depth counts the groups already taken, the last one included. */
	if (depth >= HOSTLIST_MAX_GROUPS) {
		*why = xprintf("more than %d bracket groups in one name",
		    HOSTLIST_MAX_GROUPS);
		return -1;
	}
	*open = '\0';
	*close = '\0';
	tail = close + 1;
	if (parse_items(open + 1, &pre, &cappre, &npre, why) == -1) {
		free(pre);
		return -1;
	}
	headlen = strlen(prefix);
	taillen = strlen(tail);
	/* Numbers below ULONG_MAX print in at most 20 digits, or width. */
	np = NULL;
	for (i = 0; i < npre && rc == 0; i++) {
		size_t room = headlen + taillen + 21 + (size_t)pre[i].width;

		np = xreallocarray(np, 1, room);
		for (j = pre[i].lo; rc == 0; j++) {
			char *p = np;

			memcpy(p, prefix, headlen);
			p = put_num(p + headlen, j, pre[i].width);
			memcpy(p, tail, taillen + 1);
			rc = push_items(hl, np, items, n, depth + 1, why);
			if (j == pre[i].hi)
				break;
		}
	}
	free(np);
	free(pre);
	return rc;
}

/*
 * Slurm's tokenizer: a name ends at a separator, except that a separator
 * between a '[' and its ']' does not end it ("n[1, 3]" is one name).
 * Returns the next name (NUL-terminated in s) or NULL, and advances *pos.
 * The bracket look-ups are cached, since Slurm's strchr() over the rest of
 * the string for every name is quadratic in long lists.
 */
struct tokenizer {
	char		*s;
	char		*pos;
	const char	*open_from, *open_at;	/* cache: first '[' from */
	const char	*close_from, *close_at;	/* cache: first ']' from */
};

static const char *
find_cached(const char *from, char c, const char **cfrom, const char **cat)
{
	if (*cfrom != NULL && from >= *cfrom &&
	    (*cat == NULL || from <= *cat))
		return *cat;
	*cfrom = from;
	*cat = strchr(from, c);
	return *cat;
}

static char *
next_token(struct tokenizer *t)
{
	char *s = t->pos, *tok;
	const char *parse, *open, *close;

	while (*s != '\0' && strchr(HL_SEPS, *s) != NULL)
		s++;
	if (*s == '\0') {
		t->pos = s;
		return NULL;
	}
	tok = s;
	parse = tok;
	for (;;) {
		while (*s != '\0' && strchr(HL_SEPS, *s) == NULL)
			s++;
		for (;;) {
			open = find_cached(parse, '[', &t->open_from,
			    &t->open_at);
			if (open == NULL || open > s)
				goto done;
			close = find_cached(parse, ']', &t->close_from,
			    &t->close_at);
			if (close == NULL || close < open)
				goto done;
			if (close < s) {
				parse = close + 1;
				continue;
			}
			s = t->s + (close - t->s);
			break;
		}
	}
done:
	while (*s != '\0' && strchr(HL_SEPS, *s) != NULL)
		*s++ = '\0';
	t->pos = s;
	return tok;
}

/* Parse a whole expression into hl. */
static int
hlist_parse(struct hlist *hl, const char *expr, char **why)
{
	struct tokenizer t;
	struct hl_item *items = NULL;
	size_t cap = 0, n;
	char *buf, *tok, *open, *close;
	int rc = 0;

	memset(&t, 0, sizeof(t));
	t.s = t.pos = buf = xstrdup(expr);
	while (rc == 0 && (tok = next_token(&t)) != NULL) {
		size_t len = strlen(tok);

		if ((open = strrchr(tok, '[')) == NULL) {
			if (hlist_push_name(hl, tok, len) == -1)
				rc = too_many(why);
			continue;
		}
		*open = '\0';
		if ((close = strchr(open + 1, ']')) == NULL) {
			/*
			 * An unclosed '[': Slurm takes the name up to it and
			 * puts a ']' there ("n[1" is the name "n]"), or, with
			 * nothing before it, the text after it ("[1" is "1").
			 */
			if (tok[0] != '\0') {
				open[0] = ']';
				open[1] = '\0';
				rc = hlist_push_name(hl, tok,
				    (size_t)(open - tok) + 1);
			} else
				rc = hlist_push_name(hl, open + 1,
				    strlen(open + 1));
			if (rc == -1)
				rc = too_many(why);
			continue;
		}
		/* Nothing may follow the last group (n[1-2]-ib). */
		if (close[1] != '\0' && close[1] != ',') {
			*why = xprintf("text after \"]\"");
			rc = -1;
			break;
		}
		*close = '\0';
		if (parse_items(open + 1, &items, &cap, &n, why) == -1 ||
		    push_items(hl, tok, items, n, 1, why) == -1)
			rc = -1;
	}
	free(items);
	free(buf);
	return rc;
}

int
hostlist_expand(const char *expr, struct hostnames *out, char **cause)
{
	struct hlist hl = { NULL, 0, 0, 0 };
	char *why = NULL, *p, **names;
	uint64_t bytes = 0;
	size_t i, k;
	unsigned long v;
	int d;

	out->names = NULL;
	out->n = 0;
	if (hlist_parse(&hl, expr, &why) == -1)
		goto fail;

	/* Size the one allocation exactly: names, then their text. */
	for (i = 0; i < hl.n; i++) {
		const struct hrange *r = &hl.r[i];
		uint64_t count = r->single ? 1 : (uint64_t)(r->hi - r->lo) + 1;

		bytes += count * (r->plen + 1);
		if (r->single)
			continue;
		/* Digits: every number has max(width, its digits). */
		for (d = 1; d <= 20; d++) {
			unsigned long lo, hi, dlo = 1, dhi;
			int j;

			for (j = 1; j < d; j++)
				dlo *= 10;
			if (d == 1)
				dlo = 0;
			dhi = d == 20 ? ULONG_MAX : (d == 1 ? 9 : dlo * 10 - 1);
			lo = r->lo > dlo ? r->lo : dlo;
			hi = r->hi < dhi ? r->hi : dhi;
			if (lo <= hi)
				bytes += (uint64_t)(hi - lo + 1) *
				    (uint64_t)(r->width > d ? r->width : d);
		}
	}
	if (bytes > HL_MAX_BYTES) {
		why = xprintf("expands to more than %u bytes", HL_MAX_BYTES);
		goto fail;
	}

	names = xmalloc(hl.nhosts * sizeof(char *) + bytes + 1);
	p = (char *)(names + hl.nhosts);
	for (i = 0, k = 0; i < hl.n; i++) {
		const struct hrange *r = &hl.r[i];

		if (r->single) {
			names[k++] = p;
			memcpy(p, r->prefix, r->plen + 1);
			p += r->plen + 1;
			continue;
		}
		for (v = r->lo;; v++) {
			names[k++] = p;
			memcpy(p, r->prefix, r->plen);
			p = put_num(p + r->plen, v, r->width);
			*p++ = '\0';
			if (v == r->hi)
				break;
		}
	}
	out->names = names;
	out->n = k;
	hlist_free(&hl);
	return 0;
fail:
	hlist_free(&hl);
	if (cause != NULL)
		*cause = xprintf("invalid hostlist \"%s\": %s", log_esc(expr),
		    why);
	free(why);
	return -1;
}

void
hostnames_free(struct hostnames *hn)
{
	if (hn == NULL)
		return;
	free(hn->names);
	hn->names = NULL;
	hn->n = 0;
}

/* A growing string buffer for the ranged form. */
struct sbuf {
	char	*s;
	size_t	 len, cap;
};

static char *
sbuf_room(struct sbuf *b, size_t more)
{
	if (b->len + more + 1 > b->cap) {
		while (b->len + more + 1 > b->cap)
			b->cap = b->cap ? b->cap * 2 : 256;
		b->s = xreallocarray(b->s, 1, b->cap);
	}
	return b->s + b->len;
}

/* Two ranges go in one bracket: same prefix, both with numbers. */
static int
same_bracket(const struct hrange *a, const struct hrange *b)
{
	return !a->single && !b->single &&
	    nat_equal(a->prefix, a->plen, b->prefix, b->plen);
}

/* Slurm's ranged string: prefix[lo-hi,n,...],other,... */
static char *
hlist_ranged(const struct hlist *hl)
{
	struct sbuf b = { NULL, 0, 0 };
	size_t i = 0, start;
	int bracket;
	char *p;

	sbuf_room(&b, 0);
	while (i < hl->n) {
		const struct hrange *r = &hl->r[i];

		if (i > 0) {
			*sbuf_room(&b, 1) = ',';
			b.len++;
		}
		bracket = (!r->single && r->hi > r->lo) ||
		    (i + 1 < hl->n && same_bracket(r, &hl->r[i + 1]));
		p = sbuf_room(&b, r->plen + 1);
		memcpy(p, r->prefix, r->plen);
		b.len += r->plen;
		if (bracket)
			b.s[b.len++] = '[';
		start = i;
		do {
			const struct hrange *q = &hl->r[i];

			if (q->single)
				continue;
			p = sbuf_room(&b, 2 + 2 * (21 + (size_t)q->width));
			if (i > start)
				*p++ = ',';
			p = put_num(p, q->lo, q->width);
			if (q->lo < q->hi) {
				*p++ = '-';
				p = put_num(p, q->hi, q->width);
			}
			b.len = (size_t)(p - b.s);
		} while (++i < hl->n && same_bracket(&hl->r[i], &hl->r[i - 1]));
		if (bracket) {
			*sbuf_room(&b, 1) = ']';
			b.len++;
		}
	}
	b.s[b.len] = '\0';
	return b.s;
}

char *
hostlist_compress(char *const *names, size_t n)
{
	struct hlist hl = { NULL, 0, 0, 0 };
	char *s;
	size_t i;

	for (i = 0; i < n; i++) {
		/*
		 * The count limit guards expansions; these names exist
		 * already, so reset the count rather than refuse them.
		 */
		hl.nhosts = 0;
		(void)hlist_push_name(&hl, names[i], strlen(names[i]));
	}
	s = hlist_ranged(&hl);
	hlist_free(&hl);
	return s;
}

int
hostlist_normalize(const char *expr, char **out, char **cause)
{
	struct hlist hl = { NULL, 0, 0, 0 };
	char *why = NULL;

	*out = NULL;
	if (hlist_parse(&hl, expr, &why) == -1) {
		hlist_free(&hl);
		if (cause != NULL)
			*cause = xprintf("invalid hostlist \"%s\": %s",
			    log_esc(expr), why);
		free(why);
		return -1;
	}
	*out = hlist_ranged(&hl);
	hlist_free(&hl);
	return 0;
}

/* FNV-1a: short names, no adversary worth a keyed hash here. */
static uint64_t
name_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	while (*s != '\0') {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ULL;
	}
	return h;
}

size_t
hostnames_uniq(struct hostnames *hn)
{
	const char **tab;
	size_t size = 16, mask, i, k = 0;

	if (hn->n < 2)
		return hn->n;
	while (size < hn->n * 2)
		size *= 2;
	mask = size - 1;
	tab = xcalloc(size, sizeof(*tab));
	for (i = 0; i < hn->n; i++) {
		char *name = hn->names[i];
		size_t h = (size_t)name_hash(name) & mask;

		while (tab[h] != NULL && strcmp(tab[h], name) != 0)
			h = (h + 1) & mask;
		if (tab[h] != NULL)
			continue;	/* seen before: drop */
		tab[h] = name;
		hn->names[k++] = name;
	}
	free(tab);
	hn->n = k;
	return k;
}

long
hostnames_find(const struct hostnames *hn, const char *name)
{
	size_t i;

	for (i = 0; i < hn->n; i++) {
		if (strcmp(hn->names[i], name) == 0)
			return (long)i;
	}
	return -1;
}
