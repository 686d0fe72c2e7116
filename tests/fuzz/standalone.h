/*
 * standalone.h - a main() that replays files through a harness.
 *
 * A harness that includes this at its end and is built with
 * -DFUZZ_STANDALONE instead of -fsanitize=fuzzer runs each file named on
 * its command line once (a corpus replay without libFuzzer, e.g. under
 * valgrind). The harness defines FUZZ_MAX_INPUT; longer files are cut.
 */
#ifdef FUZZ_STANDALONE
#include <stdio.h>

int main(int argc, char **argv)
{
	static uint8_t buf[FUZZ_MAX_INPUT];
	size_t len;
	FILE *fp;

	for (int i = 1; i < argc; i++) {
		if ((fp = fopen(argv[i], "rb")) == NULL) {
			perror(argv[i]);
			return 1;
		}
		len = fread(buf, 1, sizeof(buf), fp);
		fclose(fp);
		LLVMFuzzerTestOneInput(buf, len);
	}
	return 0;
}
#endif
