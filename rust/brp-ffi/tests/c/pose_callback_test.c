/*
 * brp_pose_client_start_with_callback against a pose controller (URL in
 * argv[1]): the callback sees every applied frame as JSON, may make
 * requests, and never runs after brp_pose_client_stop returns. Run by
 * with_pose_controller.py with the reference controller; under the
 * sanitizers in scripts/test-cpp.
 */

#define _POSIX_C_SOURCE 200809L

#include <brp.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "support.h"

struct observed {
  brp_app *app;
  atomic_long events;
  atomic_long bad_events;
  atomic_int request_ok;
};

static void on_frame(void *user_data, const char *event_json) {
  struct observed *seen = user_data;
  if (event_json == NULL || strstr(event_json, "\"detected\":true") == NULL ||
      strstr(event_json, "\"sequence\":") == NULL) {
    atomic_fetch_add(&seen->bad_events, 1);
  }
  if (atomic_fetch_add(&seen->events, 1) == 0) {
    /* The world's lock is released: a request answers from here. */
    char *response = NULL;
    brp_status status = brp_request(
        seen->app,
        "{\"id\": 1, \"request\": \"QUERY\", \"params\": {\"data\": "
        "{\"components\": [\"PoseLandmarks\"]}}}",
        &response);
    atomic_store(&seen->request_ok,
                 status == BRP_STATUS_OK && strstr(response, "PoseLandmarks") != NULL);
    brp_string_free(response);
  }
}

static void sleep_ms(long ms) {
  struct timespec delay = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&delay, NULL);
}

/* frames_applied from the client's statistics. */
static long applied(const brp_pose_client *client) {
  char *json = NULL;
  long count = -1;
  if (brp_pose_client_stats(client, &json) == BRP_STATUS_OK) {
    const char *field = strstr(json, "\"frames_applied\":");
    if (field != NULL) count = strtol(field + strlen("\"frames_applied\":"), NULL, 10);
  }
  brp_string_free(json);
  return count;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: pose_callback_test ws://HOST:PORT FRAMES\n");
    return 2;
  }
  const long frames = strtol(argv[2], NULL, 10);
  char config[256];
  snprintf(config, sizeof config, "{\"url\": \"%s\"}", argv[1]);
  brp_app *app = NULL;
  CHECK(brp_app_new(NULL, &app) == BRP_STATUS_OK);
  struct observed seen = {app, 0, 0, 0};
  brp_pose_client *client = (brp_pose_client *)&client; /* a sentinel */
  brp_pose_client *const sentinel = client;

  CHECK(brp_pose_client_start_with_callback(NULL, config, on_frame, &seen, &client) ==
        BRP_STATUS_NULL_ARGUMENT);
  CHECK(strstr(brp_last_error_message(), "brp_pose_client_start_with_callback: app is NULL"));
  CHECK(brp_pose_client_start_with_callback(app, NULL, on_frame, &seen, &client) ==
        BRP_STATUS_NULL_ARGUMENT);
  CHECK(brp_pose_client_start_with_callback(app, config, on_frame, &seen, NULL) ==
        BRP_STATUS_NULL_ARGUMENT);
  CHECK(brp_pose_client_start_with_callback(app, "{\"url\": 1}", on_frame, &seen, &client) ==
        BRP_STATUS_INVALID_CONFIG);
  CHECK(client == sentinel);

  /* A NULL callback is no callback. */
  CHECK(brp_pose_client_start_with_callback(app, config, NULL, NULL, &client) == BRP_STATUS_OK);
  brp_pose_client_free(client);

  CHECK(brp_pose_client_start_with_callback(app, config, on_frame, &seen, &client) ==
        BRP_STATUS_OK);
  for (long waited = 0; atomic_load(&seen.events) < frames && waited < BRP_TEST_HANG_MS; waited += 5) {
    sleep_ms(5);
  }
  CHECK(brp_pose_client_stop(client) == BRP_STATUS_OK);
  const long events = atomic_load(&seen.events);
  CHECK(events >= frames);
  CHECK(events == applied(client)); /* one call per applied frame */
  sleep_ms(50);
  CHECK(atomic_load(&seen.events) == events); /* none after stop */
  CHECK(atomic_load(&seen.bad_events) == 0);
  CHECK(atomic_load(&seen.request_ok));
  brp_pose_client_free(client);

  /* Freed while frames flow: no callback after free returns. */
  atomic_store(&seen.events, 0);
  CHECK(brp_pose_client_start_with_callback(app, config, on_frame, &seen, &client) ==
        BRP_STATUS_OK);
  for (long waited = 0; atomic_load(&seen.events) < 1 && waited < BRP_TEST_HANG_MS; waited += 5) {
    sleep_ms(5);
  }
  brp_pose_client_free(client);
  const long after_free = atomic_load(&seen.events);
  sleep_ms(50);
  CHECK(atomic_load(&seen.events) == after_free);

  brp_app_free(app);
  printf("pose_callback: %ld frames observed\n", events);
  return brp_test_summary("pose_callback");
}
