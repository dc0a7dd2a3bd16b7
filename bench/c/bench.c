/* C binding benchmark: brp_request PING and GET, ns/op (median of batches).
 *
 * Build and run (scripts/bench does this):
 *   cargo build --release -p brp-ffi
 *   cc -O2 -std=c11 -Iinclude bench/c/bench.c -L$TARGET/release -lbrp \
 *      -Wl,-rpath,$TARGET/release -o $TARGET/brp-c-bench
 *   $TARGET/brp-c-bench
 *
 * Prints one line per figure: "<name> <ns per op>". A benchmark: it prints
 * figures and checks answers, never timings. */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "brp.h"

#define SAMPLES 31
#define BATCH 20000

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static char *request(const struct brp_app *app, const char *json) {
    char *out = NULL;
    if (brp_request(app, json, &out) != BRP_STATUS_OK) {
        fprintf(stderr, "brp_request failed: %s\n", brp_last_error_message());
        exit(1);
    }
    return out;
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median over SAMPLES batches of BATCH calls, in ns per call; the response
 * string is freed inside the timed loop, as a caller must. */
static double median_ns(const struct brp_app *app, const char *json) {
    double samples[SAMPLES];
    for (int i = 0; i < BATCH; i++) brp_string_free(request(app, json));
    for (int s = 0; s < SAMPLES; s++) {
        double start = now_ns();
        for (int i = 0; i < BATCH; i++) brp_string_free(request(app, json));
        samples[s] = (now_ns() - start) / BATCH;
    }
    qsort(samples, SAMPLES, sizeof samples[0], compare);
    return samples[SAMPLES / 2];
}

int main(void) {
    const char *ping = "{\"id\":1,\"request\":\"PING\"}";
    const char *get =
        "{\"id\":1,\"request\":\"GET\",\"params\":{\"entity\":\"1v0\",\"components\":[\"Transform\"]}}";
    const char *spawn =
        "{\"id\":1,\"request\":\"SPAWN\",\"params\":{\"components\":{\"Name\":{\"JSON\":\"\\\"entity "
        "0\\\"\"},\"Transform\":{\"JSON\":\"{\\\"translation\\\":[0,1,2],\\\"rotation\\\":[0,0,0,1],"
        "\\\"scale\\\":[1,1,1]}\"}}}}";
    struct brp_app *app = NULL;
    if (brp_app_new("{\"components\":[\"Position\"]}", &app) != BRP_STATUS_OK) {
        fprintf(stderr, "brp_app_new failed: %s\n", brp_last_error_message());
        return 1;
    }
    char *out = request(app, spawn);
    if (strstr(out, "\"1v0\"") == NULL) {
        fprintf(stderr, "unexpected SPAWN answer: %s\n", out);
        return 1;
    }
    brp_string_free(out);
    out = request(app, get);
    if (strstr(out, "translation") == NULL) {
        fprintf(stderr, "unexpected GET answer: %s\n", out);
        return 1;
    }
    brp_string_free(out);
    printf("c/brp_request/ping %.1f\n", median_ns(app, ping));
    printf("c/brp_request/get %.1f\n", median_ns(app, get));
    brp_app_free(app);
    return 0;
}
