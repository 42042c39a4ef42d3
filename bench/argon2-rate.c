/* The raw argon2id verification rate of one hash, for bench/auth.sh: THREADS
 * threads call libsodium's crypto_pwhash_str_verify (what a password login
 * costs in src/account-crypto.c) on HASH for SECONDS and the total rate is
 * printed as "<verifications/s> <count>". HASH is the one the server stored,
 * so its cost (opslimit, memlimit) is the configured one.
 *
 *   argon2-rate HASH PASSWORD THREADS SECONDS */
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *hash, *password;
static double stop_at;
static long done;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *
run(void *arg)
{
	long n = 0;

	(void)arg;
	while (now() < stop_at) {
		if (crypto_pwhash_str_verify(hash, password, strlen(password)) != 0) {
			fprintf(stderr, "argon2-rate: the password does not match the hash\n");
			exit(1);
		}
		n++;
	}
	pthread_mutex_lock(&lock);
	done += n;
	pthread_mutex_unlock(&lock);
	return NULL;
}

int
main(int argc, char **argv)
{
	pthread_t *t;
	int threads;
	double seconds, start;

	if (argc != 5 || sodium_init() < 0)
		return fprintf(stderr, "usage: argon2-rate HASH PASSWORD THREADS SECONDS\n"), 2;
	hash = argv[1];
	password = argv[2];
	threads = atoi(argv[3]);
	seconds = atof(argv[4]);
	if (threads < 1 || seconds <= 0)
		return 2;
	t = calloc((size_t)threads, sizeof *t);
	start = now();
	stop_at = start + seconds;
	for (int i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, run, NULL);
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	printf("%.2f %ld\n", done / (now() - start), done);
	free(t);
	return 0;
}
