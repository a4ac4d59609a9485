/* cc.c: being written. */
