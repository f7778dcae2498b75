/*
 * The kernel's own core dump, as the reference criu2core is measured against: processes with
 * the memory of BenchCheckpoint's synthetic checkpoint (the same VMAs, the same pages written
 * and the same never touched), killed with SIGABRT; the time is from the first signal until
 * waitpid has returned for every one of them, which is when their cores are written.
 *
 * usage: kernel-dump SIZE_MIB VMAS [PROCESSES [HOLE_EVERY]]
 * prints the seconds. The cores go where /proc/sys/kernel/core_pattern says; src/bench/benchmark.sh
 * builds this with gcc, points core_pattern under target/ and restores it afterwards.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_PROCESSES 99

static void die(const char *what)
{
	fprintf(stderr, "kernel-dump: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* BenchCheckpoint.kind: every hole_every-th page is never written (a hole in every core); the others are. */
static long hole_every = 16;

static int written(long page)
{
	return page % hole_every != hole_every - 1;
}

/* Maps and fills the memory of one process of the checkpoint, then says so on ready_fd and waits. */
static void child(long size_mib, long vmas, int ready_fd)
{
	long page = sysconf(_SC_PAGESIZE);
	long saved_pages = size_mib * (1L << 20) / page;
	long per_vma = saved_pages * hole_every / (hole_every - 1) / vmas;
	struct rlimit unlimited = { RLIM_INFINITY, RLIM_INFINITY };
	uint64_t random = 42;

	if (per_vma < 1)
		per_vma = 1;
	if (setrlimit(RLIMIT_CORE, &unlimited) != 0)
		die("setrlimit(RLIMIT_CORE)");
	/* VMAs of per_vma pages with a page between them, as BenchCheckpoint lays them out: one
	 * reservation, then each VMA mapped into it and the page after it unmapped */
	size_t stride = (size_t)(per_vma + 1) * page;
	char *base = mmap(NULL, stride * vmas, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED)
		die("mmap (reservation)");
	for (long v = 0; v < vmas; v++) {
		char *start = base + v * stride;
		if (mmap(start, per_vma * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
			 0) == MAP_FAILED)
			die("mmap (a VMA; more VMAs than vm.max_map_count?)");
		if (munmap(start + per_vma * page, page) != 0)
			die("munmap");
		/* no huge pages: a never written page must stay a hole, as in the checkpoint */
		madvise(start, per_vma * page, MADV_NOHUGEPAGE);
		for (long j = 0; j < per_vma; j++) {
			if (!written(j))
				continue;
			uint64_t *p = (uint64_t *)(start + j * page);
			for (size_t i = 0; i < page / sizeof(*p); i++) {
				/* xorshift64: pages that are neither zeros nor alike */
				random ^= random << 13;
				random ^= random >> 7;
				random ^= random << 17;
				p[i] = random;
			}
		}
	}
	if (write(ready_fd, "r", 1) != 1)
		die("write (ready)");
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: kernel-dump SIZE_MIB VMAS [PROCESSES [HOLE_EVERY]]\n");
		return 2;
	}
	long size_mib = atol(argv[1]);
	long vmas = atol(argv[2]);
	int processes = argc > 3 ? atoi(argv[3]) : 1;
	hole_every = argc > 4 ? atol(argv[4]) : 16;
	if (size_mib < 1 || processes < 1 || processes > MAX_PROCESSES || vmas < processes || hole_every < 2) {
		fprintf(stderr, "kernel-dump: 1 <= PROCESSES <= VMAS, PROCESSES <= %d, HOLE_EVERY >= 2\n", MAX_PROCESSES);
		return 2;
	}
	pid_t pids[MAX_PROCESSES];
	int ready[2];
	if (pipe(ready) != 0)
		die("pipe");
	for (int p = 0; p < processes; p++) {
		pids[p] = fork();
		if (pids[p] < 0)
			die("fork");
		if (pids[p] == 0) {
			close(ready[0]);
			child(size_mib / processes, vmas / processes, ready[1]);
		}
	}
	close(ready[1]);
	for (int p = 0; p < processes; p++) {
		char c;
		if (read(ready[0], &c, 1) != 1) {
			fprintf(stderr, "kernel-dump: a child died before its memory was ready\n");
			for (int q = 0; q < processes; q++)
				kill(pids[q], SIGKILL);
			return 1;
		}
	}

	struct timespec start, end;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (int p = 0; p < processes; p++)
		if (kill(pids[p], SIGABRT) != 0)
			die("kill");
	int dumped = 0;
	for (int p = 0; p < processes; p++) {
		int status;
		if (waitpid(pids[p], &status, 0) < 0)
			die("waitpid");
		dumped += WIFSIGNALED(status) && WCOREDUMP(status);
	}
	clock_gettime(CLOCK_MONOTONIC, &end);
	if (dumped != processes) {
		fprintf(stderr, "kernel-dump: %d of %d processes dumped core (ulimit -c, core_pattern?)\n", dumped,
			processes);
		return 1;
	}
	printf("%.3f\n", (end.tv_sec - start.tv_sec) + (end.tv_nsec - start.tv_nsec) / 1e9);
	return 0;
}
