/* hostlist.c: being written. */
