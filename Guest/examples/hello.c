/* hello: answers "Hello, <input>!" (or "Hello, world!" for an empty input) and logs a greeting. */
#include "alcatraz.h"

static unsigned char out[4096];

ALCATRAZ_ENTRY(hello)

static alc_output hello(const unsigned char *in, unsigned long len) {
    alc_writer w = alc_writer_init(out, sizeof out);
    alc_log(ALC_LOG_INFO, "hello: greeting");
    alc_write_str(&w, "Hello, ");
    if (len == 0) alc_write_str(&w, "world");
    else alc_write_bytes(&w, in, len);
    alc_write_str(&w, "!");
    return alc_writer_output(&w);
}
