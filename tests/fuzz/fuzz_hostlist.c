/*
 * fuzz_hostlist.c: libFuzzer target for hostlist_expand(), _normalize()
 * and _compress().  Checks, besides memory safety, the invariants that do
 * not depend on Slurm's quirks: expand and normalize accept the same
 * inputs; every name is NUL-free text; compressing the names of an
 * expansion and expanding that again gives the same names, when the
 * names are plain (no brackets, separators or spaces in them).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hostlist.h"
#include "xmalloc.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
plain(const struct hostnames *hn)
{
	size_t i;

	for (i = 0; i < hn->n; i++) {
		if (hn->names[i][0] == '\0' ||
		    strpbrk(hn->names[i], "[], \t\n\v\f\r") != NULL)
			return 0;
	}
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hostnames hn, again;
	char *expr, *norm = NULL, *cause = NULL, *c;
	int rc1, rc2;
	size_t i;

	if (size > 4096)
		return 0;
	expr = xstrndup((const char *)data, size);
	rc1 = hostlist_expand(expr, &hn, &cause);
	rc2 = hostlist_normalize(expr, &norm, NULL);
	if (rc1 != rc2)
		abort();
	if (rc1 == -1) {
		if (cause == NULL || strchr(cause, '\n') != NULL)
			abort();
		free(cause);
		free(expr);
		return 0;
	}
	c = hostlist_compress(hn.names, hn.n);
	if (plain(&hn)) {
		if (hostlist_expand(c, &again, NULL) == -1 ||
		    again.n != hn.n)
			abort();
		for (i = 0; i < hn.n; i++) {
			if (strcmp(again.names[i], hn.names[i]) != 0)
				abort();
		}
		hostnames_free(&again);
	}
	(void)hostnames_uniq(&hn);
	free(c);
	free(norm);
	hostnames_free(&hn);
	free(expr);
	return 0;
}
