// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * loader: the libbpf side of rawload's benchmark (bench/cmd/compare).
 *
 *   loader [-n RUNS] [-p PROG]... [-m MAP]... [-1] [-v] OBJ
 *
 * Opens, loads and closes OBJ RUNS times (default 1) with libbpf, and
 * prints the wall time of each run in nanoseconds, one line per run.
 * -p PROG loads only the named programs (the others are not autoloaded);
 * -m MAP creates only the named maps (the others are not autocreated; an
 * internal map such as ".rodata" matches libbpf's "<obj>.rodata"). -1 is
 * for timing fresh processes: one load, nothing printed unless it fails.
 * -v passes libbpf's own messages through to stderr; -V prints libbpf's
 * version and exits.
 *
 * Exit status: 0 if every run loaded, 1 if one failed, 2 for bad usage.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#define MAX_NAMES 256

static const char *progs[MAX_NAMES], *maps[MAX_NAMES];
static int nprogs, nmaps;
static bool verbose;

static int print_fn(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (!verbose)
		return 0;
	return vfprintf(stderr, fmt, args);
}

static bool listed(const char **names, int n, const char *name, bool internal)
{
	for (int i = 0; i < n; i++) {
		if (!strcmp(names[i], name))
			return true;
		/*
		 * libbpf names .rodata of object "tool_x" "tool_x.rodata",
		 * cutting the whole at 15 characters: compare from the dot.
		 */
		if (internal && names[i][0] == '.') {
			const char *dot = strchr(name, '.');

			if (dot && !strncmp(dot, names[i], strlen(dot)))
				return true;
		}
	}
	return false;
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* One life cycle: open, load, close. Returns 0 or a negative errno. */
static int load_once(const char *path, int *loaded)
{
	struct bpf_object *obj;
	struct bpf_program *prog;
	struct bpf_map *map;
	int err;

	obj = bpf_object__open_file(path, NULL);
	if (!obj)
		return -errno;
	if (nprogs) {
		bpf_object__for_each_program(prog, obj)
			bpf_program__set_autoload(prog, listed(progs, nprogs, bpf_program__name(prog), false));
	}
	if (nmaps) {
		bpf_object__for_each_map(map, obj)
			bpf_map__set_autocreate(map, listed(maps, nmaps, bpf_map__name(map), bpf_map__is_internal(map)));
	}
	err = bpf_object__load(obj);
	*loaded = 0;
	if (!err) {
		bpf_object__for_each_program(prog, obj)
			if (bpf_program__fd(prog) >= 0)
				(*loaded)++;
	}
	bpf_object__close(obj);
	return err;
}

static void usage(void)
{
	fprintf(stderr, "usage: loader [-n RUNS] [-p PROG]... [-m MAP]... [-1] [-v] OBJ | -V\n");
	exit(2);
}

int main(int argc, char **argv)
{
	long runs = 1;
	bool once = false;
	int opt, loaded = 0;

	while ((opt = getopt(argc, argv, "n:p:m:1vV")) != -1) {
		switch (opt) {
		case 'n':
			runs = strtol(optarg, NULL, 10);
			if (runs < 1)
				usage();
			break;
		case 'p':
			if (nprogs == MAX_NAMES)
				usage();
			progs[nprogs++] = optarg;
			break;
		case 'm':
			if (nmaps == MAX_NAMES)
				usage();
			maps[nmaps++] = optarg;
			break;
		case '1':
			once = true;
			break;
		case 'v':
			verbose = true;
			break;
		case 'V':
			printf("%s\n", libbpf_version_string());
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc - 1)
		usage();
	libbpf_set_print(print_fn);
	libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
	if (once)
		runs = 1;

	for (long i = 0; i < runs; i++) {
		long long start = now_ns();
		int err = load_once(argv[optind], &loaded);
		long long took = now_ns() - start;

		if (err) {
			fprintf(stderr, "loader: %s: run %ld: %s\n", argv[optind], i, strerror(-err));
			return 1;
		}
		if (!once)
			printf("%lld\n", took);
	}
	if (!once)
		fprintf(stderr, "loader: %s: %d programs loaded per run\n", argv[optind], loaded);
	return 0;
}
