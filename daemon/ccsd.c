/*
 * ccsd.c: the daemon's one global, struct ccsd.
 *
 * It lives here rather than in main.c so that the modules (the static
 * library ccslurmd_core) link without main(): the unit tests set the
 * fields they need (base, conf) themselves.
 */
#include "ccslurmd.h"

struct ccsd ccsd;
