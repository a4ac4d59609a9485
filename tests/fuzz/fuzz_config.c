/*
 * fuzz_config.c: libFuzzer target for the YAML config loader.
 *
 * Any input must come back as a struct conf or as a non-empty list of
 * errors, each with the "FILE:" prefix, one line, and a line number inside
 * the input; never a crash, a leak or a hang.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf_errors errs = { NULL, 0 };
	struct conf *c = NULL;
	unsigned long lines = 1;
	size_t i;

	if (size > CONF_MAX_FILE_SIZE)
		return 0;
	/*
	 * An upper bound of YAML's line count: besides "\n", a lone "\r" and
	 * the UTF-8 NEL, LS and PS (ending in 0x85, 0xa8, 0xa9) break lines.
	 */
	for (i = 0; i < size; i++)
		if (data[i] == '\n' || data[i] == '\r' || data[i] == 0x85 ||
		    data[i] == 0xa8 || data[i] == 0xa9)
			lines++;
	if (conf_load_buffer("fuzz.yaml", (const char *)data, size, &c,
	    &errs) == 0) {
		if (c == NULL || errs.n != 0)
			abort();
		conf_free(c);
		return 0;
	}
	if (c != NULL || errs.n == 0)
		abort();
	for (i = 0; i < errs.n; i++) {
		/* libyaml may point one line past the end (end of stream). */
		if (errs.v[i].line > lines + 1 ||
		    strncmp(errs.v[i].text, "fuzz.yaml:", 10) != 0 ||
		    strpbrk(errs.v[i].text, "\r\n") != NULL)
			abort();
	}
	conf_errors_free(&errs);
	return 0;
}
