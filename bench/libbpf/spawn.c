// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * spawn: runs one command in a fresh process and prints, on stdout,
 * "WALL_NS MAXRSS_KIB EXIT" for it: the wall time from fork to reaping,
 * and the child's peak RSS from wait4. The command's stdout goes to
 * /dev/null, its stderr through.
 *
 * Why not from Go: Go starts children with vfork semantics (CLONE_VM),
 * and exec records the hiwater RSS of the memory it leaves in the child's
 * maxrss, so every child of a Go program reports at least the Go
 * program's own peak. A real fork from this small static program leaves
 * only its own (well under 1 MiB) as the floor.
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	struct rusage ru;
	long long start;
	int status;
	pid_t pid;

	if (argc < 2) {
		fprintf(stderr, "usage: spawn CMD [ARG]...\n");
		return 2;
	}
	start = now_ns();
	pid = fork();
	if (pid < 0) {
		perror("spawn: fork");
		return 1;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (null >= 0)
			dup2(null, 1);
		execvp(argv[1], argv + 1);
		perror("spawn: exec");
		_exit(127);
	}
	if (wait4(pid, &status, 0, &ru) < 0) {
		perror("spawn: wait4");
		return 1;
	}
	printf("%lld %ld %d\n", now_ns() - start, ru.ru_maxrss,
	       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	return 0;
}
